package openapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// repoDoc is the document as kept in the repository, which the agent embeds.
const repoDoc = "../../core/httpapi/openapi.json"

// TestOpenAPIMatchesAgent runs every route's good and bad requests against real agents and
// validates each request and answer against the document the agent serves; then every
// route, status and error code the document lists must have been seen, and every route the
// agent serves must have answered 200 to a request the document routes.
func TestOpenAPIMatchesAgent(t *testing.T) {
	base := startAgent(t, config.Default(), core.Options{}, false)
	served, err := roundTrip(base.addr, (&call{method: "GET", path: "/openapi.json"}).bytes(base.addr, ""))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(repoDoc)
	if err != nil {
		t.Fatal(err)
	}
	if served.status != 200 || !bytes.Equal(served.body, want) {
		t.Fatalf("GET /openapi.json: %d, %d bytes; want 200 and the %d bytes of %s", served.status, len(served.body), len(want), repoDoc)
	}
	s := loadSpec(t, served.body)

	s.mainCases(t, base)
	s.sendAll(t, base, anyRequestCases()...)
	s.sendAll(t, base, s.derivedCases(t)...)
	methods, allow := s.methodCases(t)
	for _, c := range methods {
		if got := s.send(t, base, c).header.Get("Allow"); got != allow[c.name] {
			t.Errorf("%s: Allow: %q, but the document gives the path %q", c.name, got, allow[c.name])
		}
	}
	s.checkRoutesServed(t, base)

	t.Run("timeouts", func(t *testing.T) { s.timeoutCases(t) })
	t.Run("limits", func(t *testing.T) { s.limitCases(t) })
	t.Run("vendor signatures", func(t *testing.T) { s.signatureCases(t) })
	t.Run("failing log", func(t *testing.T) { s.failingLogCases(t) })
	t.Run("stopping", func(t *testing.T) { s.stoppingCases(t) })
	t.Run("shared pool", func(t *testing.T) { s.poolCases(t) })
	if t.Failed() {
		return // a missing status would only repeat the failures above
	}
	s.checkCoverage(t)
}

// timeoutCases: headers, then bodies, that do not complete in time get 408.
func (s *spec) timeoutCases(t *testing.T) {
	cfg := config.Default()
	// Short enough to wait out; every other request of this agent arrives in one write.
	cfg.HeaderTimeout, cfg.BodyTimeout = 500*time.Millisecond, 500*time.Millisecond
	a := startAgent(t, cfg, core.Options{}, false)
	s.send(t, a, call{name: "headers never complete", method: "GET", path: "/healthz",
		raw: "GET /healthz HTTP/1.1\r\nHost: {host}\r\n", want: 408, code: "request_timeout", anyReq: true})
	for key, op := range s.operations() {
		good, ok := s.goodCall[key]
		if op.RequestBody == nil || !ok {
			continue
		}
		c := good
		c.name = key + ": a body that never completes"
		c.body = good.body + padding
		c.declare = len(c.body) + 1
		c.want, c.code = 408, "request_timeout"
		s.send(t, a, c)
	}
}

// limitCases: a new Idempotency-Key past IDEMPOTENCY_MAX_KEYS, a new session past
// MAX_SESSIONS, get 429 with Retry-After, alone or in a batch.
func (s *spec) limitCases(t *testing.T) {
	cfg := config.Default()
	cfg.IdempotencyMaxKeys, cfg.MaxSessions = 1, 1
	a := startAgent(t, cfg, core.Options{}, false)
	meter, seat := s.provision(t, a)
	key := func(k string, c call) call { c.header = map[string]string{"Idempotency-Key": k}; return c }
	s.sendAll(t, a,
		key("k-1", consume("consume with the one key there is room for", fmt.Sprintf(`{"license":%q,"units":1}`, meter), 200, "")),
		key("k-2", consume("consume with a key past the limit", fmt.Sprintf(`{"license":%q,"units":1}`, meter), 429, "too_many_keys")),
		consume("check out the one session there is room for", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 200, ""),
		consume("check out a session past the limit", fmt.Sprintf(`{"license":%q,"session":"s-2"}`, seat), 429, "too_many_sessions"),
	)
	ans := s.send(t, a, batch("a batch with a key and a session past the limits",
		fmt.Sprintf(`{"requests":[{"license":%q,"units":1,"idempotencyKey":"k-3"},{"license":%q,"session":"s-3"}]}`, meter, seat), 200, ""))
	if ans.header.Get("Retry-After") == "" {
		t.Errorf("a batch with a result of 429 has no Retry-After")
	}
}

// signatureCases: with VENDOR_PUBLIC_KEY_FILE set, provisioning needs the vendor's signature.
func (s *spec) signatureCases(t *testing.T) {
	key, pub := vendorKeys(t)
	stranger, _ := vendorKeys(t)
	cfg := config.Default()
	cfg.VendorPublicKeyFile = pub
	a := startAgent(t, cfg, core.Options{}, false)
	s.sendAll(t, a,
		signed(key, putProduct("put a signed product", "meter", meterProduct, 200, "")),
		putProduct("put an unsigned product", "seat", seatProduct, 403, "bad_signature"),
		signed(stranger, putProduct("put a product signed by another key", "seat", seatProduct, 403, "bad_signature")),
		signed(key, order("a signed order", "organizations/acme", orderBody("acme-1", "meter", 10, "", ""), 200, "")),
		order("an unsigned order", "organizations/acme", orderBody("acme-2", "meter", 10, "", ""), 403, "bad_signature"),
		signed(stranger, order("an order signed by another key", "users/bob", orderBody("bob-1", "meter", 10, "", ""), 403, "bad_signature")),
	)
}

// failingLogCases: once the write-ahead log cannot sync, whatever must be logged gets 503
// wal_unavailable, and /healthz says so.
func (s *spec) failingLogCases(t *testing.T) {
	fs, fail := failingWAL()
	a := startAgent(t, config.Default(), core.Options{FS: fs}, true)
	meter, seat := s.provision(t, a)
	s.send(t, a, consume("check a session out", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 200, ""))
	fail.Store(true)
	s.sendAll(t, a,
		consume("consume while the log cannot sync", fmt.Sprintf(`{"license":%q,"units":1}`, meter), 503, "wal_unavailable"),
		batch("a batch while the log cannot sync", fmt.Sprintf(`{"requests":[{"license":%q,"units":1}]}`, meter), 200, ""),
		checkin("check in while the log cannot sync", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 503, "wal_unavailable"),
		putProduct("put a product while the log cannot sync", "other", meterProduct, 503, "wal_unavailable"),
		order("order for an organization while the log cannot sync", "organizations/acme", orderBody("acme-3", "meter", 1, "", ""), 503, "wal_unavailable"),
		order("order for a user while the log cannot sync", "users/bob", orderBody("bob-1", "meter", 1, "", ""), 503, "wal_unavailable"),
		get("health while the log cannot sync", "/healthz", noToken, 503, "wal_unavailable"),
	)
}

// stoppingCases: /healthz turns 503 unhealthy when the usage database is moved away; once the
// engine is closed (as on SIGTERM, while requests may still arrive) writes get 503
// shutting_down.
func (s *spec) stoppingCases(t *testing.T) {
	a := startAgent(t, config.Default(), core.Options{}, true)
	meter, seat := s.provision(t, a)
	s.send(t, a, consume("check a session out", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 200, ""))

	usageDB := a.h.Dir + "/usage.db"
	if err := os.Rename(usageDB, usageDB+".moved"); err != nil {
		t.Fatal(err)
	}
	// The agent checks the file once a second: no event to wait on, so ask until it tells.
	health := get("health with the usage database moved away", "/healthz", noToken, 503, "unhealthy")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ans, err := roundTrip(a.addr, health.bytes(a.addr, ""))
		if err != nil {
			t.Fatal(err)
		}
		if ans.status != 200 {
			s.check(t, a.addr, &health, ans)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz still 200 30 s after the usage database was moved away")
		}
	}

	if err := a.h.Engine().Close(); err != nil {
		t.Logf("closing the engine under a moved usage database: %v", err)
	}
	s.sendAll(t, a,
		consume("consume while stopping", fmt.Sprintf(`{"license":%q,"units":1}`, meter), 503, "shutting_down"),
		batch("a batch while stopping", fmt.Sprintf(`{"requests":[{"license":%q,"units":1}]}`, meter), 503, "shutting_down"),
		checkin("check in while stopping", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 503, "shutting_down"),
		putProduct("put a product while stopping", "other", meterProduct, 503, "shutting_down"),
		order("order for an organization while stopping", "organizations/acme", orderBody("acme-3", "meter", 1, "", ""), 503, "shutting_down"),
		order("order for a user while stopping", "users/bob", orderBody("bob-1", "meter", 1, "", ""), 503, "shutting_down"),
	)
}

var (
	routeLabel = regexp.MustCompile(`^meterd_request_duration_seconds_count\{route="([a-z_]+)"\}`)
	okCount    = regexp.MustCompile(`^meterd_requests_total\{code="200",route="([a-z_]+)"\} (\S+)$`)
)

// checkRoutesServed reads the agent's own list of routes, the route label of its request
// histogram, which has a series for each route from the start, and requires that each route
// has answered 200: every such answer went to a request the document routed, so the agent
// serves no route the document lacks. "other" is what no route took.
func (s *spec) checkRoutesServed(t *testing.T, a *agent) {
	t.Helper()
	ans, err := roundTrip(a.addr, (&call{method: "GET", path: "/metrics"}).bytes(a.addr, ""))
	if err != nil || ans.status != 200 {
		t.Fatalf("GET /metrics: %v %v", err, ans)
	}
	routes, ok := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(ans.body))
	for sc.Scan() {
		if m := routeLabel.FindStringSubmatch(sc.Text()); m != nil {
			routes[m[1]] = true
		}
		if m := okCount.FindStringSubmatch(sc.Text()); m != nil {
			if n, err := strconv.ParseFloat(m[2], 64); err == nil && n > 0 {
				ok[m[1]] = true
			}
		}
	}
	if len(routes) < 2 {
		t.Fatalf("/metrics lists %d routes; the test reads them from meterd_request_duration_seconds_count", len(routes))
	}
	for r := range routes {
		if r != "other" && !ok[r] {
			t.Errorf("the agent serves route %q, which answered no request of the test with 200: is it in the document?", r)
		}
	}
	t.Logf("routes the agent serves: %s", strings.Join(slices.Sorted(maps.Keys(routes)), ", "))
}

// poolCases: a pooled license whose etcd cluster is gone grants from the block it holds, then
// denies with pool_unavailable.
func (s *spec) poolCases(t *testing.T) {
	bin := harness.NeedTool(t, "etcd", "etcd-server")
	cluster, err := harness.StartEtcd(bin, t.TempDir(), 1, &harness.LogBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cfg := config.Default()
	cfg.PoolEndpoints, cfg.PoolBlock = strings.Join(cluster.Endpoints(), ","), 10
	a := startAgent(t, cfg, core.Options{}, true) // its units cannot go back to a pool that is gone
	meter, _ := s.provision(t, a)
	s.send(t, a, consume("consume from a pooled license", fmt.Sprintf(`{"license":%q,"units":1}`, meter), 200, ""))
	cluster.Kill(0)
	s.send(t, a, consume("consume past the block held, the pool out of reach", fmt.Sprintf(`{"license":%q,"units":50}`, meter), 409, ""))
}
