package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

// Every test in this package calls t.Parallel, on its own data directory and port, except the
// few that change a package variable or count allocations: Go runs those first, alone.

// agent is meterd started as cmd/meterd starts it (httpapi.Start), served over real HTTP on
// 127.0.0.1, on a data directory that outlives restarts within one test.
type agent struct {
	t     *testing.T
	cfg   config.Config
	opts  core.Options
	a     *httpapi.Agent
	eng   *core.Engine
	base  string
	token string
	hc    *http.Client
}

func newTestConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	return cfg
}

// startAgent opens an engine on cfg and serves it; the agent stops when the test ends.
func startAgent(t *testing.T, cfg config.Config, opts core.Options) *agent {
	t.Helper()
	a := &agent{t: t, cfg: cfg, opts: opts,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
	a.start()
	t.Cleanup(a.stop)
	return a
}

func (a *agent) start() {
	a.t.Helper()
	started, err := httpapi.Start(a.cfg, a.opts)
	if err != nil {
		a.t.Fatalf("start agent: %v", err)
	}
	a.a, a.eng, a.base, a.token = started, started.Engine, started.Base(), started.Token
}

// stop shuts the agent down the way meterd does: HTTP first, then the engine.
func (a *agent) stop() {
	if a.a == nil {
		return
	}
	a.hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.a.Shutdown(ctx); err != nil {
		a.t.Errorf("agent shutdown: %v", err)
	}
	a.a, a.eng = nil, nil
}

func (a *agent) restart() {
	a.t.Helper()
	a.stop()
	a.start()
}

// call sends a request and decodes the JSON answer into out (if non-nil).
type call struct {
	method, path string
	body         string
	admin        bool
	header       map[string]string
	contentType  string // default application/json
}

func (a *agent) do(c call, out any) int {
	a.t.Helper()
	status, body := a.raw(c)
	if !json.Valid(body) {
		a.t.Fatalf("%s %s: %d with a body that is not JSON: %q", c.method, c.path, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", c.method, c.path, body, err)
		}
	}
	return status
}

func (a *agent) raw(c call) (int, []byte) {
	a.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, a.base+c.path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if c.body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.admin {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && resp.StatusCode != 200 {
		a.t.Fatalf("%s %s: %d with Content-Type %q", c.method, c.path, resp.StatusCode, ct)
	}
	return resp.StatusCode, b
}

// Shapes of the answers the tests read.
type answer struct {
	Granted   bool   `json:"granted"`
	License   string `json:"license"`
	Units     int64  `json:"units"`
	Remaining int64  `json:"remaining"`
	Seq       uint64 `json:"seq"`
	Reason    string `json:"reason"`
	Error     string `json:"error"`
	Message   string `json:"message"`
}

type creditView struct {
	ID                       string  `json:"id"`
	ValidFrom                *string `json:"validFrom"`
	ValidUntil               *string `json:"validUntil"`
	Active                   bool    `json:"active"`
	LicenseID                string  `json:"licenseId"`
	LicenseTransactionItemID string  `json:"licenseTransactionItemId"`
	UseCount                 int64   `json:"useCount"`
	CountUsed                int64   `json:"countUsed"`
}

type itemView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

type licenseView struct {
	ID               string       `json:"id"`
	ValidFrom        *string      `json:"validFrom"`
	ValidUntil       *string      `json:"validUntil"`
	Active           bool         `json:"active"`
	EntitlementID    string       `json:"entitlementId"`
	LicensedItem     itemView     `json:"licensedItem"`
	LicenseModelID   string       `json:"licenseModelId"`
	LicenseModelName string       `json:"licenseModelName"`
	UseCountConsumed int64        `json:"useCountConsumed"`
	UseCountTotal    int64        `json:"useCountTotal"`
	UseCountCredits  []creditView `json:"useCountCredits"`
}

type txView struct {
	Transaction struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		ExternalID string `json:"externalId"`
		Processed  string `json:"processed"`
		Items      []struct {
			ID         string        `json:"id"`
			ExternalID string        `json:"externalId"`
			ProductID  string        `json:"productId"`
			Quantity   int64         `json:"quantity"`
			Licenses   []licenseView `json:"licenses"`
		} `json:"items"`
	} `json:"transaction"`
	Error string `json:"error"`
}

// putProduct creates a product; mode is "sessions" or "count".
func (a *agent) putProduct(id, item, mode string, creditAmount int64) {
	a.t.Helper()
	tm := "TRACK_BY_CALLER_CONSUMPTION_COUNT"
	if mode == "sessions" {
		tm = "TRACK_BY_LICENSE_SESSIONS_OPENED"
	}
	body := fmt.Sprintf(`{"name":%q,"licensedItem":%q,"trackingMode":%q,"creditAmount":%d}`, item, item, tm, creditAmount)
	if st := a.do(call{method: "PUT", path: "/products/" + id, body: body, admin: true}, nil); st != 200 {
		a.t.Fatalf("put product %s: status %d", id, st)
	}
}

// order provisions quantity of product to owner ("organizations/x") in [from, until).
func (a *agent) order(owner, externalID, productID string, quantity int64, from, until time.Time) txView {
	a.t.Helper()
	body := orderBody(externalID, productID, quantity, from, until)
	var tx txView
	if st := a.do(call{method: "POST", path: "/" + owner + "/license-transactions", body: body, admin: true}, &tx); st != 200 {
		a.t.Fatalf("order %s: status %d (%s)", externalID, st, tx.Error)
	}
	return tx
}

// orderOf is orderBody as the engine takes it.
func orderOf(externalID, productID string, quantity int64, from, until time.Time) core.Order {
	return core.Order{Type: "Order", ExternalID: externalID, Items: []core.OrderItem{{ExternalID: "item-" + externalID,
		ProductID: productID, Quantity: quantity, ValidFrom: &from, ValidUntil: &until}}}
}

// orderBody is a one-item order's request body, as the client encodes it.
func orderBody(externalID, productID string, quantity int64, from, until time.Time) string {
	b, err := client.Order{Type: "Order", ExternalID: externalID, Items: []client.OrderItem{{ExternalID: "item-" + externalID,
		ProductID: productID, Quantity: quantity, LicenseValidFrom: from.UTC(), LicenseValidUntil: until.UTC()}}}.Body()
	if err != nil {
		panic(err) // a struct of strings, numbers and times always encodes
	}
	return string(b)
}

func (a *agent) consume(body string, header map[string]string) (int, answer) {
	a.t.Helper()
	var ans answer
	st := a.do(call{method: "POST", path: "/v1/consume", body: body, header: header}, &ans)
	return st, ans
}

func (a *agent) license(id string) licenseView {
	a.t.Helper()
	var l licenseView
	if st := a.do(call{method: "GET", path: "/v1/licenses/" + id}, &l); st != 200 {
		a.t.Fatalf("get license %s: status %d", id, st)
	}
	return l
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func testNow() time.Time { return time.Now() }

func noOpts() core.Options { return core.Options{} }

func usageDBPath(cfg config.Config) string { return filepath.Join(cfg.DataDir, "usage.db") }

// metricValue reads an unlabelled counter or gauge of the engine's registry, as /metrics
// would show it.
func metricValue(t *testing.T, e *core.Engine, name string) float64 {
	t.Helper()
	mfs, err := e.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			if c := mf.GetMetric()[0].GetCounter(); c != nil {
				return c.GetValue()
			}
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
