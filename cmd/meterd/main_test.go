package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd/bench/agent"
)

// meterdBin is the agent built once for every test here, with the race detector when the
// tests run with it; meterctlBin is the vendor's tool, to check what the agent wrote.
var meterdBin, meterctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	meterdBin = filepath.Join(dir, "meterd")
	args := []string{"build", "-o", meterdBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build meterd: %v\n%s", err, out)
		os.Exit(1)
	}
	meterctlBin = filepath.Join(dir, "meterctl")
	if out, err := exec.Command("go", "build", "-o", meterctlBin, "../meterctl").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build meterctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running meterd, its log kept for failure messages.
type proc struct {
	*agent.Agent
	t   *testing.T
	log syncBuffer
}

// syncBuffer is the log: the agent writes it while a test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startMeterd runs the binary on data and waits for its "listening" line.
func startMeterd(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	p, err := tryStart(t, data, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryStart(t *testing.T, data string, args ...string) (*proc, error) {
	p := &proc{t: t}
	a, err := agent.Start(meterdBin, data, &p.log, args...)
	if err != nil {
		return nil, fmt.Errorf("%w:\n%s", err, p.log.String())
	}
	p.Agent = a
	return p, nil
}

// kill SIGKILLs meterd, which must still be running: an agent that died by itself would
// otherwise pass for one the test killed.
func (p *proc) kill() {
	p.t.Helper()
	if p.Exited() {
		p.t.Fatalf("meterd exited by itself before the test killed it:\n%s", p.log.String())
	}
	p.Kill()
}

// stop sends sig and expects a clean exit.
func (p *proc) stop(sig os.Signal) {
	p.t.Helper()
	if code, err := p.Stop(sig, 60*time.Second); err != nil || code != 0 {
		p.t.Fatalf("meterd exit code %d, %v:\n%s", code, err, p.log.String())
	}
}

func (p *proc) token() string {
	tok, err := p.Token()
	if err != nil {
		p.t.Fatal(err)
	}
	return tok
}

// request sends one JSON request; an error means the answer never arrived.
func request(hc *http.Client, method, url, token, key string, body any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%d %q: %w", resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out, nil
}

// mustAdmin runs an admin call that must succeed.
func (p *proc) mustAdmin(method, path string, body any) map[string]any {
	p.t.Helper()
	st, out, err := request(http.DefaultClient, method, p.Base+path, p.token(), "", body)
	if err != nil || st != 200 {
		p.t.Fatalf("%s %s: %d %v %v", method, path, st, out, err)
	}
	return out
}

func (p *proc) consumed(licenseID string) int64 {
	p.t.Helper()
	st, out, err := request(http.DefaultClient, "GET", p.Base+"/v1/licenses/"+licenseID, "", "", nil)
	if err != nil || st != 200 {
		p.t.Fatalf("get license: %d %v %v", st, out, err)
	}
	return int64(out["useCountConsumed"].(float64))
}

// provision creates a caller-count product and a license of units for organizations/o.
func (p *proc) provision(units int) string {
	p.t.Helper()
	p.mustAdmin("PUT", "/products/p", map[string]any{"licensedItem": "Item", "trackingMode": "TRACK_BY_CALLER_CONSUMPTION_COUNT"})
	now := time.Now().UTC()
	tx := p.mustAdmin("POST", "/organizations/o/license-transactions", map[string]any{"transaction": map[string]any{
		"type": "Order", "externalId": "crash-1", "items": []any{map[string]any{"productId": "p", "quantity": units,
			"licenseValidFrom": now.Add(-time.Hour).Format(time.RFC3339), "licenseValidUntil": now.Add(24 * time.Hour).Format(time.RFC3339)}}}})
	item := tx["transaction"].(map[string]any)["items"].([]any)[0].(map[string]any)
	return item["licenses"].([]any)[0].(map[string]any)["id"].(string)
}
