package core_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
)

// metric reads one unlabelled sample from /metrics.
func (a *agent) metric(name string) float64 {
	a.t.Helper()
	_, body := a.raw(call{method: "GET", path: "/metrics"})
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				a.t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	a.t.Fatalf("no %s in /metrics", name)
	return 0
}

// Past IDEMPOTENCY_MAX_KEYS a new key gets 429 too_many_keys with Retry-After and takes
// nothing; known keys still answer and unkeyed requests are unaffected, until keys expire.
func TestIdempotencyMaxKeys(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	cfg := newTestConfig(t)
	cfg.IdempotencyMaxKeys, cfg.IdempotencyTTL = 3, time.Hour
	a := startAgent(t, cfg, core.Options{Clock: clock.Now})
	lic := provisionPdfPro(t, a)
	body := `{"license":"` + lic.ID + `","units":2}`
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
	consumed := func() int64 { return a.license(lic.ID).UseCountConsumed }

	for _, k := range []string{"k1", "k2"} {
		if st, _ := a.consume(body, key(k)); st != 200 {
			t.Fatalf("key %s: %d", k, st)
		}
	}
	if st, ans := a.consume(`{"license":"`+lic.ID+`","units":20000}`, key("deny")); st != 409 || ans.Granted {
		t.Fatalf("a denial holds a key too: %d %+v", st, ans)
	}
	if got := a.metric("meterd_idempotency_keys"); got != 3 {
		t.Fatalf("meterd_idempotency_keys %v, want 3", got)
	}
	before := consumed()

	req, _ := http.NewRequest("POST", a.base+"/v1/consume", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "k4")
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || retry < 1 {
		t.Fatalf("a fourth key: %d with Retry-After %q, want 429 and at least 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var e answer
	if st := a.do(call{method: "POST", path: "/v1/consume", body: body, header: key("k5")}, &e); st != 429 || e.Error != "too_many_keys" {
		t.Fatalf("got %d %+v, want 429 too_many_keys", st, e)
	}
	st, res := a.batch(`{"license":"`+lic.ID+`","units":2,"idempotencyKey":"k6"}`, `{"license":"`+lic.ID+`","units":2,"idempotencyKey":"k1"}`,
		`{"license":"`+lic.ID+`","units":2}`)
	if st != 200 || res[0].Status != 429 || res[0].Error != "too_many_keys" || res[1].Status != 200 || res[1].Seq == 0 || res[2].Status != 200 {
		t.Fatalf("batch: %d %+v, want 429 for the new key, the first answer for k1, a grant without a key", st, res)
	}
	if st, ans := a.consume(body, key("k2")); st != 200 || !ans.Granted {
		t.Fatalf("a known key: %d %+v, want its first answer", st, ans)
	}
	if st, _ := a.consume(body, nil); st != 200 {
		t.Fatalf("an unkeyed request: %d, want 200", st)
	}
	if got := consumed(); got != before+4 { // the batch's unkeyed item and the unkeyed request
		t.Fatalf("consumed %d, want %d: a refused key took units, or a repeat did", got, before+4)
	}

	clock.Add(2 * time.Hour)
	core.ExpireIdempotencyKeys(a.eng)
	if st, _ := a.consume(body, key("k4")); st != 200 {
		t.Fatalf("after the TTL: %d, want the new key granted", st)
	}
	if got := a.metric("meterd_idempotency_keys"); got != 1 {
		t.Fatalf("meterd_idempotency_keys %v after expiry and one key, want 1", got)
	}
}

// Past MAX_SESSIONS a checkout gets 429 too_many_sessions and takes nothing; open sessions go
// on, and a checkin makes room.
func TestMaxSessions(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.MaxSessions = 2
	a := startAgent(t, cfg, noOpts())
	a.putProduct("viewer", "Viewer", "sessions", 3)
	now := time.Now()
	tx := a.order(orgOwner, "v", "viewer", 100, now.Add(-time.Hour), now.Add(time.Hour))
	lic := tx.Transaction.Items[0].Licenses[0].ID
	body := func(s string) string { return `{"owner":"` + orgOwner + `","item":"Viewer","session":"` + s + `"}` }
	for _, s := range []string{"s1", "s2"} {
		if st, ans := a.consume(body(s), nil); st != 200 || ans.Units != 3 {
			t.Fatalf("checkout %s: %d %+v", s, st, ans)
		}
	}
	var e answer
	if st := a.do(call{method: "POST", path: "/v1/consume", body: body("s3")}, &e); st != 429 || e.Error != "too_many_sessions" {
		t.Fatalf("a third session: %d %+v, want 429 too_many_sessions", st, e)
	}
	if st, res := a.batch(body("s4")); st != 200 || res[0].Status != 429 {
		t.Fatalf("a third session in a batch: %d %+v", st, res)
	}
	if got := a.license(lic).UseCountConsumed; got != 6 {
		t.Fatalf("consumed %d, want 6: a refused checkout took units", got)
	}
	if st, ans := a.consume(body("s1"), nil); st != 200 || ans.Units != 0 {
		t.Fatalf("an open session: %d %+v, want 0 units granted", st, ans)
	}
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: body("s1")}, nil); st != 200 {
		t.Fatalf("checkin: %d", st)
	}
	if st, ans := a.consume(body("s3"), nil); st != 200 || ans.Units != 3 {
		t.Fatalf("after a checkin: %d %+v, want a checkout", st, ans)
	}
	if got := a.metric("meterd_sessions_open"); got != 2 {
		t.Fatalf("meterd_sessions_open %v, want 2", got)
	}
}
