package core_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The 10Duke example: product PdfPro, organization cce56388…, 15,000 units for 12 months.
const (
	pdfProID = "7a195f0b-459b-4c60-ba5e-7a3d53133e28"
	orgID    = "cce56388-2c7f-4dd7-8007-b7c3fbd47901"
	orgOwner = "organizations/" + orgID
	extID    = "0000004556786"
)

// provisionPdfPro provisions the 10Duke example in caller-count mode and returns the license.
func provisionPdfPro(t *testing.T, a *agent) licenseView {
	t.Helper()
	a.putProduct(pdfProID, "PdfPro", "count", 1)
	now := time.Now()
	tx := a.order(orgOwner, extID, pdfProID, 15000, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	return tx.Transaction.Items[0].Licenses[0]
}

func TestTenDukeExample(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	a.putProduct(pdfProID, "PdfPro", "count", 1)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := from.AddDate(1, 0, 0)
	body := orderBody(extID, pdfProID, 15000, from, until)
	req := call{method: "POST", path: "/" + orgOwner + "/license-transactions", body: body, admin: true}
	st, first := a.raw(req)
	if st != 200 {
		t.Fatalf("provision: %d %s", st, first)
	}
	var tx txView
	a.do(req, &tx) // the resend, decoded
	items := tx.Transaction.Items
	if tx.Transaction.ID == "" || tx.Transaction.Processed == "" || tx.Transaction.ExternalID != extID || len(items) != 1 {
		t.Fatalf("transaction shape: %+v", tx.Transaction)
	}
	if len(items[0].Licenses) != 1 {
		t.Fatalf("want one license, got %+v", items[0])
	}
	lic := items[0].Licenses[0]
	if lic.UseCountTotal != 15000 || lic.UseCountConsumed != 0 || lic.LicensedItem.Name != "PdfPro" || lic.ID == "" {
		t.Fatalf("license: %+v", lic)
	}
	if len(lic.UseCountCredits) != 1 {
		t.Fatalf("credits: %+v", lic.UseCountCredits)
	}
	c := lic.UseCountCredits[0]
	if c.UseCount != 15000 || c.CountUsed != 0 || c.LicenseID != lic.ID || c.LicenseTransactionItemID != items[0].ID {
		t.Fatalf("credit: %+v", c)
	}
	if *c.ValidFrom != "2026-01-01T00:00:00Z" || *c.ValidUntil != "2027-01-01T00:00:00Z" {
		t.Fatalf("credit window: %s – %s", *c.ValidFrom, *c.ValidUntil)
	}

	t.Run("resend returns the first response and provisions nothing", func(t *testing.T) {
		_, again := a.raw(req)
		if !jsonEqual(t, first, again) {
			t.Fatalf("first %s\nagain %s", first, again)
		}
		if l := a.license(lic.ID); l.UseCountTotal != 15000 || len(l.UseCountCredits) != 1 {
			t.Fatalf("after resend: %+v", l)
		}
	})
	t.Run("another quantity under the same externalId is 409", func(t *testing.T) {
		var e answer
		other := req
		other.body = orderBody(extID, pdfProID, 15001, from, until)
		if st := a.do(other, &e); st != 409 || e.Error == "" || e.Message == "" {
			t.Fatalf("got %d %+v, want 409 with an error", st, e)
		}
		if l := a.license(lic.ID); l.UseCountTotal != 15000 {
			t.Fatalf("after conflict: %+v", l)
		}
	})
	t.Run("owner listing", func(t *testing.T) {
		var out struct{ Licenses []licenseView }
		if st := a.do(call{method: "GET", path: "/" + orgOwner + "/licenses", admin: true}, &out); st != 200 || len(out.Licenses) != 1 {
			t.Fatalf("got %d %+v", st, out)
		}
		var empty struct{ Licenses []licenseView }
		if st := a.do(call{method: "GET", path: "/users/nobody/licenses", admin: true}, &empty); st != 200 || empty.Licenses == nil || len(empty.Licenses) != 0 {
			t.Fatalf("owner with nothing: %d %+v", st, empty)
		}
	})
}

// 64 clients consume random units until everything is gone: exactly 15,000 are granted and
// every other answer is 409 exhausted.
func TestConcurrentExhaustion(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	var granted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for denied := 0; denied < 20; {
				units := 1 + rng.Int64N(40)
				if denied > 10 {
					units = 1 // the tail: make sure the last units go too
				}
				st, ans := a.consume(fmt.Sprintf(`{"owner":%q,"item":"PdfPro","units":%d}`, orgOwner, units), nil)
				switch {
				case st == 200 && ans.Granted && ans.Units == units:
					granted.Add(units)
				case st == 409 && !ans.Granted && ans.Reason == "exhausted":
					denied++
				default:
					errs <- fmt.Sprintf("status %d %+v", st, ans)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if got := granted.Load(); got != 15000 {
		t.Fatalf("granted %d units, want exactly 15000", got)
	}
	if l := a.license(lic.ID); l.UseCountConsumed != 15000 || l.UseCountCredits[0].CountUsed != 15000 {
		t.Fatalf("license after: %+v", l)
	}
	st, ans := a.consume(`{"license":"`+lic.ID+`","units":1}`, nil)
	if st != 409 || ans.Reason != "exhausted" || ans.Remaining != 0 || ans.License != lic.ID {
		t.Fatalf("after exhaustion: %d %+v", st, ans)
	}
}

func TestSessionsMode(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	a.putProduct("viewer", "Viewer", "sessions", 3)
	now := time.Now()
	tx := a.order("users/alice", "o-1", "viewer", 100, now.Add(-time.Hour), now.Add(time.Hour))
	lic := tx.Transaction.Items[0].Licenses[0]
	if lic.UseCountTotal != 300 {
		t.Fatalf("quantity 100 × creditAmount 3: total %d, want 300", lic.UseCountTotal)
	}
	body := func(s string) string { return fmt.Sprintf(`{"owner":"users/alice","item":"Viewer","session":%q}`, s) }
	for i := range 5 {
		st, ans := a.consume(body(fmt.Sprintf("s-%d", i)), nil)
		if st != 200 || ans.Units != 3 {
			t.Fatalf("session %d checkout: %d %+v", i, st, ans)
		}
	}
	if st, ans := a.consume(body("s-0"), nil); st != 200 || ans.Units != 0 || !ans.Granted {
		t.Fatalf("repeated session: %d %+v, want a grant of 0 units", st, ans)
	}
	if got := a.license(lic.ID).UseCountConsumed; got != 15 {
		t.Fatalf("5 sessions × 3: consumed %d, want 15", got)
	}
	var in struct {
		Remaining int64 `json:"remaining"`
	}
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: body("s-0")}, &in); st != 200 || in.Remaining != 285 {
		t.Fatalf("checkin: %d %+v", st, in)
	}
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: body("s-0")}, nil); st != 404 {
		t.Fatalf("second checkin: %d, want 404", st)
	}
	if st, ans := a.consume(body("s-0"), nil); st != 200 || ans.Units != 3 {
		t.Fatalf("reuse after checkin: %d %+v, want a new checkout of 3", st, ans)
	}
	if got := a.license(lic.ID).UseCountConsumed; got != 18 {
		t.Fatalf("consumed %d, want 18", got)
	}
	t.Run("concurrent first calls of one session check out once", func(t *testing.T) {
		var wg sync.WaitGroup
		var units atomic.Int64
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, ans := a.consume(body("shared"), nil); ans.Granted {
					units.Add(ans.Units)
				}
			}()
		}
		wg.Wait()
		if units.Load() != 3 {
			t.Fatalf("16 racing calls took %d units, want 3", units.Load())
		}
	})
	t.Run("open sessions survive a restart", func(t *testing.T) {
		a.restart()
		if st, ans := a.consume(body("s-1"), nil); st != 200 || ans.Units != 0 {
			t.Fatalf("open session after restart: %d %+v", st, ans)
		}
		if got := a.license(lic.ID).UseCountConsumed; got != 21 {
			t.Fatalf("consumed %d after restart, want 21", got)
		}
	})
}

// Credits drain earliest-expiring first; windows are half-open.
func TestCreditWindows(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	a.putProduct("p", "Item", "count", 1)
	now := time.Now()
	late := a.order("organizations/o", "late", "p", 10, now.Add(-time.Hour), now.Add(48*time.Hour))
	a.order("organizations/o", "early", "p", 10, now.Add(-time.Hour), now.Add(24*time.Hour))
	id := late.Transaction.Items[0].Licenses[0].ID
	consume := func(units int) (int, answer) {
		return a.consume(fmt.Sprintf(`{"owner":"organizations/o","item":"Item","units":%d}`, units), nil)
	}
	if st, ans := consume(4); st != 200 || ans.Remaining != 16 {
		t.Fatalf("first: %d %+v", st, ans)
	}
	l := a.license(id)
	if len(l.UseCountCredits) != 2 || l.UseCountCredits[0].CountUsed != 0 || l.UseCountCredits[1].CountUsed != 4 {
		t.Fatalf("the earliest-expiring credit (second order) must drain first: %+v", l.UseCountCredits)
	}
	if st, ans := consume(10); st != 200 || ans.Remaining != 6 {
		t.Fatalf("spill: %d %+v", st, ans)
	}
	l = a.license(id)
	if l.UseCountCredits[0].CountUsed != 4 || l.UseCountCredits[1].CountUsed != 10 {
		t.Fatalf("after spill: %+v", l.UseCountCredits)
	}
	if st, ans := consume(7); st != 409 || ans.Reason != "exhausted" || ans.Remaining != 6 {
		t.Fatalf("over the balance: %d %+v", st, ans)
	}
	if got := a.license(id).UseCountConsumed; got != 14 {
		t.Fatalf("a denial changed the balance: consumed %d", got)
	}

	a.putProduct("future", "Future", "count", 1)
	a.order("organizations/o", "future", "future", 5, now.Add(time.Hour), now.Add(2*time.Hour))
	if st, ans := a.consume(`{"owner":"organizations/o","item":"Future","units":1}`, nil); st != 409 || ans.Reason != "not_yet_valid" {
		t.Fatalf("future window: %d %+v", st, ans)
	}
	a.putProduct("past", "Past", "count", 1)
	a.order("organizations/o", "past", "past", 5, now.Add(-2*time.Hour), now.Add(-time.Hour))
	if st, ans := a.consume(`{"owner":"organizations/o","item":"Past","units":1}`, nil); st != 409 || ans.Reason != "expired" {
		t.Fatalf("ended window: %d %+v", st, ans)
	}
}

func TestAdminNeedsToken(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	f := func(c call, header map[string]string) {
		t.Helper()
		c.header = header
		var e answer
		if st := a.do(c, &e); st != 401 || e.Error != "unauthorized" {
			t.Fatalf("%s %s with %v: %d %+v, want 401", c.method, c.path, header, st, e)
		}
	}
	put := call{method: "PUT", path: "/products/p", body: `{"licensedItem":"I","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT"}`}
	order := call{method: "POST", path: "/organizations/o/license-transactions", body: orderBody("x", "p", 1, time.Now(), time.Now().Add(time.Hour))}
	list := call{method: "GET", path: "/organizations/o/licenses"}
	for _, c := range []call{put, order, list} {
		f(c, nil)
		f(c, map[string]string{"Authorization": "Bearer wrong"})
		f(c, map[string]string{"Authorization": "Basic " + a.token})
		f(c, map[string]string{"Authorization": "Bearer " + a.token + "x"})
	}
	var e answer
	if st := a.do(call{method: "GET", path: "/products/p", admin: true}, &e); st != 404 {
		t.Fatalf("rejected PUT created the product: %d", st)
	}
}

func TestDenialReasonsAreNotErrors(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	st, ans := a.consume(`{"license":"`+lic.ID+`","units":15001}`, nil)
	if st != 409 || ans.Granted || ans.Reason != "exhausted" || ans.Remaining != 15000 || ans.Error != "" {
		t.Fatalf("got %d %+v", st, ans)
	}
}
