package shard_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meterd/meterd/shard"
)

// Times in these tests are small integers: the package only compares them.
const (
	t0   = 1000
	tEnd = 2000
)

// balances lists total - used per credit, in creation order.
func balances(l *shard.License) []int64 {
	b := make([]int64, l.NumCredits())
	for i := range b {
		c := l.Credit(i)
		b[i] = c.Total - c.Used
	}
	return b
}

func fmtResult(r shard.Result) string {
	return fmt.Sprintf("%v remaining=%d parts=%v", r.Outcome, r.Remaining, r.Parts)
}

func TestTakeSingleCredit(t *testing.T) {
	l := shard.NewLicense("lic-1")
	if i := l.AddCredit(t0, tEnd, 10, 3); i != 0 {
		t.Fatalf("AddCredit = %d, want 0", i)
	}
	f := func(n int64, want string) {
		t.Helper()
		if got := fmtResult(l.Take(n, t0+1, make([]shard.Part, 0, 1))); got != want {
			t.Errorf("Take(%d) = %s, want %s", n, got, want)
		}
	}
	f(4, "granted remaining=3 parts=[{0 4}]")
	f(4, "exhausted remaining=3 parts=[]")
	f(3, "granted remaining=0 parts=[{0 3}]")
	f(1, "exhausted remaining=0 parts=[]")
	if got, want := l.Used(), int64(10); got != want {
		t.Errorf("Used = %d, want %d", got, want)
	}
	if got, want := l.Total(), int64(10); got != want {
		t.Errorf("Total = %d, want %d", got, want)
	}
	if got, want := l.ID(), "lic-1"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
}

func TestTakeOrder(t *testing.T) {
	// Created out of take order: the credit ending first is drawn first,
	// ties go to the older credit.
	l := shard.NewLicense("lic")
	l.AddCredit(t0, 1900, 5, 0) // 0: third (until 1900, after 1 and 2)
	l.AddCredit(t0, 1800, 5, 0) // 1: first
	l.AddCredit(t0, 1800, 5, 0) // 2: second, tie with 1
	l.AddCredit(t0, 1950, 5, 0) // 3: last
	f := func(n int64, want string) {
		t.Helper()
		if got := fmtResult(l.Take(n, t0, nil)); got != want {
			t.Errorf("Take(%d) = %s, want %s", n, got, want)
		}
	}
	f(3, "granted remaining=17 parts=[{1 3}]")
	f(3, "granted remaining=14 parts=[{1 2} {2 1}]")
	f(11, "granted remaining=3 parts=[{2 4} {0 5} {3 2}]")
	f(4, "exhausted remaining=3 parts=[]")
	f(3, "granted remaining=0 parts=[{3 3}]")
}

func TestTakeAllOrNothing(t *testing.T) {
	l := shard.NewLicense("lic")
	l.AddCredit(t0, 1500, 3, 0)
	l.AddCredit(t0, 1600, 3, 1)
	l.AddCredit(1500, tEnd, 100, 0) // not active yet at t0
	before := balances(l)
	if r := l.Take(6, t0, nil); r.Outcome != shard.Exhausted || r.Remaining != 5 || r.Parts != nil {
		t.Fatalf("Take(6) = %s, want exhausted remaining=5 without parts", fmtResult(r))
	}
	if got := balances(l); !slices.Equal(got, before) {
		t.Fatalf("balances after denial %v, want %v unchanged", got, before)
	}
	r := l.Take(5, t0, nil)
	if got, want := fmtResult(r), "granted remaining=0 parts=[{0 3} {1 2}]"; got != want {
		t.Fatalf("Take(5) = %s, want %s", got, want)
	}
	l.Give(r.Parts)
	if got := balances(l); !slices.Equal(got, before) {
		t.Fatalf("balances after Give %v, want %v", got, before)
	}
}

func TestTakeWindows(t *testing.T) {
	f := func(name string, now int64, want string, credits ...[2]int64) {
		t.Helper()
		l := shard.NewLicense(name)
		for _, c := range credits {
			l.AddCredit(c[0], c[1], 5, 0)
		}
		if got := fmtResult(l.Take(1, now, nil)); got != want {
			t.Errorf("%s: Take at %d = %s, want %s", name, now, got, want)
		}
	}
	w := [2]int64{t0, tEnd}
	f("from is active", t0, "granted remaining=4 parts=[{0 1}]", w)
	f("until is not", tEnd, "expired remaining=0 parts=[]", w)
	f("last instant", tEnd-1, "granted remaining=4 parts=[{0 1}]", w)
	f("before from", t0-1, "not_yet_valid remaining=0 parts=[]", w)
	f("no credit", t0, "expired remaining=0 parts=[]")
	f("ended and future", 1500, "not_yet_valid remaining=0 parts=[]", [2]int64{t0, 1200}, [2]int64{1800, tEnd})
	f("skip ended", 1500, "granted remaining=4 parts=[{1 1}]", [2]int64{t0, 1200}, [2]int64{1400, tEnd})
	f("skip future", 1500, "granted remaining=4 parts=[{1 1}]", [2]int64{1800, 1900}, [2]int64{1400, tEnd})
}

func TestTakeEmptyActiveIsExhausted(t *testing.T) {
	// An active credit with nothing left beats a future one: the license is
	// exhausted now, not waiting.
	l := shard.NewLicense("lic")
	l.AddCredit(t0, tEnd, 2, 2)
	l.AddCredit(3000, 4000, 2, 0)
	if got, want := fmtResult(l.Take(1, t0, nil)), "exhausted remaining=0 parts=[]"; got != want {
		t.Fatalf("Take = %s, want %s", got, want)
	}
	if got, want := l.Remaining(3000), int64(2); got != want {
		t.Fatalf("Remaining(3000) = %d, want %d", got, want)
	}
}

func TestCreditState(t *testing.T) {
	l := shard.NewLicense("lic")
	l.AddCredit(t0, tEnd, 10, 4)
	l.Take(2, t0, nil)
	want := shard.CreditState{From: t0, Until: tEnd, Total: 10, Used: 6}
	if got := l.Credit(0); got != want {
		t.Fatalf("Credit(0) = %+v, want %+v", got, want)
	}
}

func TestLongID(t *testing.T) {
	id := string(make([]byte, 100))
	if got := shard.NewLicense(id).ID(); got != id {
		t.Fatalf("ID of a 100-byte id has %d bytes", len(got))
	}
}

func TestContractPanics(t *testing.T) {
	f := func(name string, call func(l *shard.License)) {
		t.Helper()
		l := shard.NewLicense("lic")
		l.AddCredit(t0, tEnd, 5, 0)
		defer func() {
			// The contract's own panic, not a runtime error it happened to run into.
			if r := recover(); !strings.HasPrefix(fmt.Sprint(r), "BUG: shard:") {
				t.Errorf("%s: panic %v, want a BUG: shard: panic", name, r)
			}
		}()
		call(l)
	}
	f("take 0", func(l *shard.License) { l.Take(0, t0, nil) })
	f("take 0 into a buffer", func(l *shard.License) { l.Take(0, t0, make([]shard.Part, 0, 1)) })
	f("give more than taken", func(l *shard.License) { l.Give([]shard.Part{{Credit: 0, Units: 1}}) })
	f("give to unknown credit", func(l *shard.License) { l.Give([]shard.Part{{Credit: 1, Units: 1}}) })
	f("give negative", func(l *shard.License) { l.Give([]shard.Part{{Credit: 0, Units: -1}}) })
	f("used over total", func(l *shard.License) { l.AddCredit(t0, tEnd, 5, 6) })
	f("empty window", func(l *shard.License) { l.AddCredit(tEnd, tEnd, 5, 0) })
	f("total past int64", func(l *shard.License) { l.AddCredit(t0, tEnd, math.MaxInt64-4, 0) })
	f("credit out of range", func(l *shard.License) { l.Credit(1) })
}

// 64 goroutines take random amounts from one credit until it is dry: what
// was granted must add up to the total exactly.
func TestTakeConcurrentExact(t *testing.T) {
	const total = 100_000
	l := shard.NewLicense("lic")
	l.AddCredit(t0, tEnd, total, 0)
	var granted, badRemaining atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			buf := make([]shard.Part, 0, 1)
			for {
				n := 1 + r.Int64N(50)
				res := l.Take(n, t0, buf)
				if res.Remaining < 0 || res.Remaining > total {
					badRemaining.Add(1)
				}
				if res.Outcome == shard.Granted {
					granted.Add(n)
				}
				// <= and the overdraw check, not == 0: a broken take that drives the
				// balance below 0 must end the loop and fail the test, not hang it.
				if res.Outcome != shard.Granted && res.Remaining <= 0 || granted.Load() > total {
					return
				}
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != total {
		t.Fatalf("granted %d units in all, want exactly %d", got, total)
	}
	if got := l.Used(); got != total {
		t.Fatalf("Used = %d, want %d", got, total)
	}
	if n := badRemaining.Load(); n != 0 {
		t.Fatalf("%d results had Remaining outside [0, total]", n)
	}
}
