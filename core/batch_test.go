package core_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type batchResult struct {
	Status int `json:"status"`
	answer
}

func (a *agent) batch(items ...string) (int, []batchResult) {
	a.t.Helper()
	var out struct {
		Results []batchResult `json:"results"`
		Error   string        `json:"error"`
	}
	st := a.do(call{method: "POST", path: "/v1/consume:batch", body: `{"requests":[` + strings.Join(items, ",") + `]}`}, &out)
	return st, out.Results
}

func TestConsumeBatch(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	a.putProduct("viewer", "Viewer", "sessions", 2)
	now := time.Now()
	a.order(orgOwner, "v", "viewer", 10, now.Add(-time.Hour), now.Add(time.Hour))
	item := func(units int, rest string) string {
		return fmt.Sprintf(`{"license":%q,"units":%d%s}`, lic.ID, units, rest)
	}
	st, res := a.batch(
		item(5, ``),
		item(20000, ``), // denied
		item(0, ``),     // invalid
		`{"license":"nope","units":1}`,
		item(3, `,"idempotencyKey":"b-1"`),
		item(3, `,"idempotencyKey":"b-1"`), // the same request again, in the same batch
		item(4, `,"idempotencyKey":"b-1"`), // the same key, another body
		`{"owner":"`+orgOwner+`","item":"Viewer","session":"s-1"}`,
		item(20000, `,"idempotencyKey":"deny-1"`),
	)
	if st != 200 || len(res) != 9 {
		t.Fatalf("got %d with %d results", st, len(res))
	}
	want := []struct {
		status int
		what   string
	}{{200, "granted"}, {409, "exhausted"}, {400, "invalid_request"}, {404, "not_found"}, {200, "granted"},
		{200, "granted"}, {422, "idempotency_key_reused"}, {200, "granted"}, {409, "exhausted"}}
	for i, w := range want {
		r := res[i]
		got := r.Error
		if r.Error == "" && r.Granted {
			got = "granted"
		} else if r.Error == "" {
			got = r.Reason
		}
		if r.Status != w.status || got != w.what {
			t.Errorf("result %d: %d %+v, want %d %s", i, r.Status, r, w.status, w.what)
		}
	}
	if res[0].Seq == 0 || res[0].Seq != res[4].Seq || res[4] != res[5] {
		t.Fatalf("logged grants share one record's seq and a repeat shares its answer: %+v %+v %+v", res[0], res[4], res[5])
	}
	if res[7].Units != 2 {
		t.Fatalf("sessions-mode item in a batch: %+v, want a checkout of 2", res[7])
	}
	if got := a.license(lic.ID).UseCountConsumed; got != 8 {
		t.Fatalf("consumed %d, want 5 + 3", got)
	}
	t.Run("keys are remembered across a restart", func(t *testing.T) {
		a.restart()
		_, again := a.batch(item(3, `,"idempotencyKey":"b-1"`), item(20000, `,"idempotencyKey":"deny-1"`))
		if again[0] != res[4] || again[1] != res[8] {
			t.Fatalf("after restart: %+v %+v, want %+v %+v", again[0], again[1], res[4], res[8])
		}
		st, single := a.consume(item(3, ``), map[string]string{"Idempotency-Key": "b-1"})
		if st != 200 || single.Seq != res[4].Seq {
			t.Fatalf("the single endpoint sees the batch's answer: %d %+v", st, single)
		}
		if got := a.license(lic.ID).UseCountConsumed; got != 8 {
			t.Fatalf("consumed %d, want 8", got)
		}
	})
	t.Run("limits", func(t *testing.T) {
		if st, res := a.batch(); st != 200 || len(res) != 0 {
			t.Fatalf("empty batch: %d %v", st, res)
		}
		var e answer
		many := strings.Repeat(item(1, ``)+",", 1000) + item(1, ``)
		if st := a.do(call{method: "POST", path: "/v1/consume:batch", body: `{"requests":[` + many + `]}`}, &e); st != 400 {
			t.Fatalf("1001 requests: %d %+v", st, e)
		}
		if st := a.do(call{method: "POST", path: "/v1/consume:batch", body: `{"requests":{}}`}, &e); st != 400 {
			t.Fatalf("requests not an array: %d", st)
		}
		if got := a.license(lic.ID).UseCountConsumed; got != 8 {
			t.Fatalf("a rejected batch took units: consumed %d", got)
		}
	})
}

// Concurrent batches never grant more than the license holds.
func TestConcurrentBatches(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	var granted atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items := make([]string, 200)
			for round := 0; ; round++ {
				for i := range items {
					items[i] = fmt.Sprintf(`{"license":%q,"units":%d,"idempotencyKey":"w%d-r%d-%d"}`, lic.ID, 1+(i+w)%7, w, round, i)
				}
				_, res := a.batch(items...)
				any := false
				for _, r := range res {
					if r.Granted {
						granted.Add(r.Units)
						any = true
					} else if r.Status != 409 {
						t.Errorf("result %+v", r)
						return
					}
				}
				if !any {
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := a.license(lic.ID).UseCountConsumed; got != 15000 || granted.Load() != 15000 {
		t.Fatalf("consumed %d, granted %d, want 15000 both", got, granted.Load())
	}
}

// A keyed denial in a batch is logged with its key, so that a retry after a restart, with
// the license topped up meanwhile, still gets the first answer and takes nothing. A keyless
// denial changed nothing and has nothing to remember: it is not logged. Every grant of a batch
// survives the restart and reaches the usage database as its own action.
func TestBatchDenialsInTheLog(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	grant := `{"license":"` + lic.ID + `","units":1}`
	_, g1 := a.batch(grant)
	_, keyless := a.batch(`{"license":"` + lic.ID + `","units":20000}`)
	_, g2 := a.batch(grant)
	if keyless[0].Status != 409 || g1[0].Status != 200 || g2[0].Status != 200 {
		t.Fatalf("setup: %+v %+v %+v", g1, keyless, g2)
	}
	if g2[0].Seq != g1[0].Seq+1 {
		t.Fatalf("grants at seq %d and %d around a keyless denial: it was logged", g1[0].Seq, g2[0].Seq)
	}

	deny := `{"license":"` + lic.ID + `","units":20000,"idempotencyKey":"deny-1"}`
	_, first := a.batch(deny)
	if first[0].Status != 409 || first[0].Reason != "exhausted" {
		t.Fatalf("keyed denial: %+v", first)
	}
	if _, two := a.batch(grant, grant); two[0].Status != 200 || two[1].Status != 200 {
		t.Fatalf("two grants in one batch: %+v", two)
	}
	a.restart() // the checkpoint must hold every decision of a batch record, not only its first
	now := time.Now()
	a.order(orgOwner, "top-up", pdfProID, 10000, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	_, again := a.batch(deny)
	if len(again) != 1 || again[0] != first[0] {
		t.Fatalf("retry after a restart and a top-up: %+v, want the first answer %+v", again, first)
	}
	if got := a.license(lic.ID).UseCountConsumed; got != 4 {
		t.Fatalf("consumed %d after the restart, want 4", got)
	}
	a.stop()
	if s, units := billed(t, a.cfg); units != 4 || len(s.Gaps) != 0 {
		t.Fatalf("billed %d with unexported rows %+v, want the 4 granted, each from its own action", units, s.Gaps)
	}
}
