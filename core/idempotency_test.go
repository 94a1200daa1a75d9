package core_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }
	body := `{"owner":"` + orgOwner + `","item":"PdfPro","units":5,"user":"alice"}`

	st1, first := a.consume(body, key("k-1"))
	st2, second := a.consume(body, key("k-1"))
	if st1 != 200 || st2 != 200 || first != second {
		t.Fatalf("repeat: %d %+v then %d %+v", st1, first, st2, second)
	}
	if got := a.license(lic.ID).UseCountConsumed; got != 5 {
		t.Fatalf("a repeated key took units again: consumed %d, want 5", got)
	}
	t.Run("same JSON, other spacing and order, is the same body", func(t *testing.T) {
		other := `{ "user": "alice", "units": 5, "item": "PdfPro", "owner": "` + orgOwner + `" }`
		if st, ans := a.consume(other, key("k-1")); st != 200 || ans != first {
			t.Fatalf("got %d %+v, want %+v", st, ans, first)
		}
	})
	t.Run("different body is 422 and takes nothing", func(t *testing.T) {
		var e answer
		st := a.do(call{method: "POST", path: "/v1/consume", body: `{"owner":"` + orgOwner + `","item":"PdfPro","units":6}`, header: key("k-1")}, &e)
		if st != 422 || e.Error != "idempotency_key_reused" {
			t.Fatalf("got %d %+v", st, e)
		}
		if got := a.license(lic.ID).UseCountConsumed; got != 5 {
			t.Fatalf("consumed %d, want 5", got)
		}
	})
	t.Run("keys are scoped per owner", func(t *testing.T) {
		a.putProduct("other", "Other", "count", 1)
		tx := a.order("users/bob", "bob-1", "other", 10, testNow().Add(-1), testNow().AddDate(0, 0, 1))
		if st, ans := a.consume(`{"owner":"users/bob","item":"Other","units":1}`, key("k-1")); st != 200 || ans.License != tx.Transaction.Items[0].Licenses[0].ID {
			t.Fatalf("another owner's k-1: %d %+v", st, ans)
		}
	})
	t.Run("a denial is remembered", func(t *testing.T) {
		big := `{"owner":"` + orgOwner + `","item":"PdfPro","units":20000}`
		st1, d1 := a.consume(big, key("deny"))
		st2, d2 := a.consume(big, key("deny"))
		if st1 != 409 || st2 != 409 || d1 != d2 || d1.Reason != "exhausted" {
			t.Fatalf("got %d %+v then %d %+v", st1, d1, st2, d2)
		}
	})
	t.Run("duplicates arriving together take once", func(t *testing.T) {
		before := a.license(lic.ID).UseCountConsumed
		var wg sync.WaitGroup
		answers := make([]answer, 32)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, ans := a.consume(`{"license":"`+lic.ID+`","units":7}`, key("together"))
				if st != 200 {
					t.Errorf("duplicate %d: status %d", i, st)
				}
				answers[i] = ans
			}()
		}
		wg.Wait()
		for i, ans := range answers {
			if ans != answers[0] {
				t.Fatalf("answer %d %+v differs from %+v", i, ans, answers[0])
			}
		}
		if got := a.license(lic.ID).UseCountConsumed - before; got != 7 {
			t.Fatalf("32 duplicates took %d units, want 7", got)
		}
	})
	t.Run("remembered across a restart", func(t *testing.T) {
		a.restart()
		if st, ans := a.consume(body, key("k-1")); st != 200 || ans != first {
			t.Fatalf("after restart: %d %+v, want %+v", st, ans, first)
		}
		if st, _ := a.consume(`{"owner":"`+orgOwner+`","item":"PdfPro","units":6}`, key("k-1")); st != 422 {
			t.Fatalf("different body after restart: %d, want 422", st)
		}
		if got := a.license(lic.ID).UseCountConsumed; got != 12 {
			t.Fatalf("consumed %d after restart, want 12", got)
		}
	})
	t.Run("the keys are counted in /metrics", func(t *testing.T) {
		st, body := a.raw(call{method: "GET", path: "/metrics"})
		// k-1, deny, together, plus the other owner's k-1 (fresh is next).
		if st != 200 || !strings.Contains(string(body), "\nmeterd_idempotency_keys 4\n") {
			t.Fatalf("metrics: %d\n%s", st, grepLines(string(body), "meterd_idempotency_keys"))
		}
	})
	t.Run("a request that fails validation is not remembered", func(t *testing.T) {
		if st, _ := a.consume(`{"license":"`+lic.ID+`","units":0}`, key("fresh")); st != 400 {
			t.Fatalf("got %d, want 400", st)
		}
		if st, ans := a.consume(`{"license":"`+lic.ID+`","units":2}`, key("fresh")); st != 200 || ans.Units != 2 {
			t.Fatalf("the key was remembered from a rejected request: %d %+v", st, ans)
		}
	})
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The engine itself holds an Idempotency-Key to 1 to 255 printable ASCII characters, whoever
// calls it: space and '~' are the ends of the range, 255 characters the most.
func TestIdempotencyKeyBounds(t *testing.T) {
	t.Parallel()
	e := openEngine(t, newTestConfig(t), noOpts())
	defer closeEngine(t, e)
	now := time.Now()
	orderPdfPro(t, e, "order-1", 1000, now.Add(-time.Hour), now.Add(time.Hour))
	for key, ok := range map[string]bool{
		strings.Repeat("k", 255): true, strings.Repeat("k", 256): false,
		"a b": true, "a~b": true, "a\x1fb": false, "a\x7fb": false, "a\u00e9b": false,
	} {
		var ans core.Answer
		err := e.Consume(&core.ConsumeRequest{Owner: billOwner, Item: "PdfPro", Units: 1, IdempotencyKey: key}, &ans)
		if ok && (err != nil || !ans.Granted) {
			t.Errorf("key %q (%d bytes): %+v, %v; want a grant", key, len(key), ans, err)
		}
		if !ok && !errors.Is(err, core.ErrInvalid) {
			t.Errorf("key %q (%d bytes): %+v, %v; want ErrInvalid", key, len(key), ans, err)
		}
		items := []core.BatchItem{{Req: core.ConsumeRequest{Owner: billOwner, Item: "PdfPro", Units: 1, IdempotencyKey: key + "/batch"}}}
		if len(key) == 255 {
			items[0].Req.IdempotencyKey = key // the longest key, not one past it
		}
		if err := e.ConsumeBatch(items); err != nil {
			t.Fatal(err)
		}
		if got := items[0].Err == nil && items[0].Ans.Granted; got != ok {
			t.Errorf("batch key %q: %+v, %v; granted %v, want %v", items[0].Req.IdempotencyKey, items[0].Ans, items[0].Err, got, ok)
		}
	}
}
