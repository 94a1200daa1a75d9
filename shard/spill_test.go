package shard_test

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meterd/meterd/shard"
)

// The case that rules out lock-free spilling: two takers that each need
// both credits. Pure CAS lets each hold one credit and deny the other; the
// spill lock must let exactly the right number through, every time.
func TestSpillNoMutualDenial(t *testing.T) {
	f := func(credits, each, takers, n int64, wantGranted int) {
		t.Helper()
		for round := range 500 {
			l := shard.NewLicense("lic")
			for range credits {
				l.AddCredit(t0, tEnd, each, 0)
			}
			start := make(chan struct{})
			var granted atomic.Int64
			var wg sync.WaitGroup
			for range takers {
				wg.Go(func() {
					<-start
					if l.Take(n, t0, nil).Outcome == shard.Granted {
						granted.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := int(granted.Load()); got != wantGranted {
				t.Fatalf("round %d: %d credits of %d, %d takers of %d: %d granted, want %d",
					round, credits, each, takers, n, got, wantGranted)
			}
		}
	}
	f(2, 3, 2, 4, 1)
	f(3, 3, 4, 4, 2)
	f(4, 5, 8, 3, 6)
}

// Takers racing for the last units of many small credits, so that most
// takes spill and spills overlap. Without Give, balances only fall, so a
// denial of n is false if a sum of the balances read after it still covers
// n. And every unit granted is used, none more.
func TestSpillConcurrentNoFalseDenial(t *testing.T) {
	for round := range 100 {
		l := shard.NewLicense("lic")
		var total int64
		for i := range 200 {
			total += 1 + int64(i%5)
			l.AddCredit(t0, tEnd-int64(i%7), 1+int64(i%5), 0)
		}
		l.AddCredit(0, t0, 50, 0)      // ended
		l.AddCredit(t0+1, tEnd, 50, 0) // not yet
		var granted, falseDenials atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), uint64(round)))
				buf := make([]shard.Part, 0, 8)
				<-start
				for {
					n := 1 + r.Int64N(8)
					res := l.Take(n, t0, buf)
					switch {
					case res.Outcome == shard.Granted:
						granted.Add(checkParts(t, res.Parts, n, 200, 201))
					case res.Outcome != shard.Exhausted:
						t.Errorf("Take = %s, want granted or exhausted", fmtResult(res))
						return
					case res.Remaining >= n || l.Remaining(t0) >= n:
						falseDenials.Add(1)
					case res.Remaining <= 0: // not == 0: an overdraw must end the loop, not hang it
						return
					}
					if granted.Load() > total {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if n := falseDenials.Load(); n != 0 {
			t.Fatalf("round %d: %d denials although the units were there", round, n)
		}
		if got := granted.Load(); got != total || l.Used() != total {
			t.Fatalf("round %d: granted %d units, credits record %d used, want both %d", round, got, l.Used(), total)
		}
	}
}

// Takers that give back some grants, as on a WAL failure, with takes, spills
// and gives all interleaved: what is kept is exactly what the credits record.
func TestSpillConcurrentGive(t *testing.T) {
	l := newMixedLicense()
	var kept atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 3))
			buf := make([]shard.Part, 0, 8)
			for range 2000 {
				n := 1 + r.Int64N(40)
				res := l.Take(n, t0, buf)
				if res.Outcome != shard.Granted {
					continue
				}
				if r.IntN(4) == 0 {
					l.Give(res.Parts)
				} else {
					kept.Add(checkParts(t, res.Parts, n, 1, 4))
				}
			}
		})
	}
	wg.Wait()
	if got, want := kept.Load(), l.Used(); got != want {
		t.Fatalf("kept %d units, but credits record %d used", got, want)
	}
	for i := range l.NumCredits() {
		if c := l.Credit(i); c.Used < 0 || c.Used > c.Total {
			t.Fatalf("credit %d: used %d of %d", i, c.Used, c.Total)
		}
	}
}

// AddCredit while takers run: no take is lost or doubled across the
// copy-on-write of the credit set, and the new credits are drawn on.
func TestAddCreditConcurrentWithTake(t *testing.T) {
	l := shard.NewLicense("lic")
	l.AddCredit(t0, tEnd, 100, 0)
	var granted atomic.Int64
	var added atomic.Bool
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 4))
			for {
				n := 1 + r.Int64N(5)
				res := l.Take(n, t0, nil)
				switch {
				case granted.Load() > 5100: // more than all credits hold: stop, and fail below
					return
				case res.Outcome == shard.Granted:
					granted.Add(n)
				case res.Remaining <= 0 && added.Load():
					return
				default:
					runtime.Gosched()
				}
			}
		})
	}
	for i := range 50 {
		l.AddCredit(t0, tEnd-int64(i), 100, 0) // each new credit goes first
		runtime.Gosched()
	}
	added.Store(true)
	wg.Wait()
	if got, want := granted.Load(), int64(5100); got != want {
		t.Fatalf("granted %d units, want %d", got, want)
	}
	if got, want := l.Used(), l.Total(); got != want {
		t.Fatalf("Used = %d, want Total = %d", got, want)
	}
}

// newMixedLicense has 5000 units active at t0 over five large credits and
// 500 small ones (so that most takes spill, and spills are long enough to
// overlap), and two credits out of their window that must never be drawn on.
func newMixedLicense() *shard.License {
	l := shard.NewLicense("mixed")
	l.AddCredit(t0, 1500, 1000, 0)
	l.AddCredit(0, t0, 1000, 0) // ended at t0
	l.AddCredit(t0, 1200, 500, 0)
	l.AddCredit(t0-10, tEnd, 1500, 0)
	l.AddCredit(t0+1, tEnd, 1000, 0) // starts just after t0
	l.AddCredit(t0, 1200, 1000, 0)
	l.AddCredit(t0, 1800, 1000, 0)
	for i := range 500 {
		l.AddCredit(t0, t0+1+int64(i%300), 1+int64(i%19), 0)
	}
	return l
}

// mixedActive is the number of units newMixedLicense holds at t0.
const mixedActive = 5000 + 4961

// checkParts checks that parts add up to n from distinct credits, none of
// them inactive, and returns n.
func checkParts(t *testing.T, parts []shard.Part, n int64, inactive ...int32) int64 {
	var sum int64
	seen := map[int32]bool{}
	for _, p := range parts {
		if p.Units <= 0 || seen[p.Credit] || slices.Contains(inactive, p.Credit) {
			t.Errorf("bad part %+v in %v", p, parts)
		}
		seen[p.Credit] = true
		sum += p.Units
	}
	if sum != n {
		t.Errorf("parts %v add up to %d, want %d", parts, sum, n)
	}
	return n
}
