package core

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd/core/config"
)

func TestClock(t *testing.T) {
	t.Parallel()
	var wall atomic.Int64
	wall.Store(int64(10 * time.Second))
	var steps []time.Duration
	c := newClock(func() time.Time { return time.Unix(0, wall.Load()) }, func(d time.Duration) { steps = append(steps, d) })
	f := func(set time.Duration, want time.Duration, wantSteps int) {
		t.Helper()
		wall.Store(int64(set))
		if got := c.now(); got != int64(want) || len(steps) != wantSteps {
			t.Fatalf("wall %v: now %v with %d steps reported, want %v and %d", set, time.Duration(got), len(steps), want, wantSteps)
		}
	}
	f(10*time.Second, 10*time.Second, 0)
	f(9500*time.Millisecond, 10*time.Second, 0) // a small correction: time holds, quietly
	f(9*time.Second, 10*time.Second, 0)         // exactly the tolerance: still a correction
	f(5*time.Second, 10*time.Second, 1)         // set back: holds, reported once
	f(6*time.Second, 10*time.Second, 1)         // still behind: not reported again
	f(10*time.Second, 10*time.Second, 1)        // level with the mark: not yet past it
	f(8*time.Second, 10*time.Second, 1)         // so falling back is the same step
	f(11*time.Second, 11*time.Second, 1)        // caught up: moves on
	f(2*time.Second, 11*time.Second, 2)         // set back again: a second step
	if steps[0] != 5*time.Second || steps[1] != 9*time.Second {
		t.Fatalf("steps reported %v, want [5s 9s]", steps)
	}
	c.advance(int64(20 * time.Second)) // the log holds a later time
	f(12*time.Second, 20*time.Second, 2)
	c.advance(int64(15 * time.Second)) // an earlier one changes nothing
	f(12*time.Second, 20*time.Second, 2)
	if c.mark() != int64(20*time.Second) {
		t.Fatalf("mark %v", time.Duration(c.mark()))
	}
}

// Concurrent readers each see time that never goes back, while the wall clock jitters.
func TestClockConcurrentMonotonic(t *testing.T) {
	t.Parallel()
	var wall atomic.Int64
	c := newClock(func() time.Time { return time.Unix(0, wall.Add(7)%1000+wall.Load()/3) }, func(time.Duration) {})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 4 {
		wg.Go(func() {
			last := int64(math.MinInt64)
			for range 10000 {
				if n := c.now(); n < last {
					bad.Add(1)
				} else {
					last = n
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d reads went back in time", bad.Load())
	}
}

func TestWindowNS(t *testing.T) {
	t.Parallel()
	day := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	f := func(w Window, wantFrom, wantUntil int64) {
		t.Helper()
		if from, until := w.NS(); from != wantFrom || until != wantUntil {
			t.Fatalf("%+v: ns %d, %d; want %d, %d", w, from, until, wantFrom, wantUntil)
		}
		if from, until := w.NS(); from >= until {
			t.Fatalf("%+v: empty window in ns", w)
		}
	}
	f(Window{From: day(2026), Until: day(2027)}, day(2026).UnixNano(), day(2027).UnixNano())
	f(Window{From: day(2026), Open: true}, day(2026).UnixNano(), math.MaxInt64)
	f(Window{From: day(2600), Until: day(5000)}, math.MaxInt64-1, math.MaxInt64)
	f(Window{From: day(2026), Until: day(9999)}, day(2026).UnixNano(), math.MaxInt64)
	f(Window{From: day(1), Until: day(1000)}, math.MinInt64, math.MinInt64+1)
	f(Window{From: day(1), Until: day(2026)}, math.MinInt64, day(2026).UnixNano())
	// The clock never leaves the range the saturated bounds order against.
	if got := wallNS(day(3000)); got != math.MaxInt64-1 {
		t.Fatalf("wall clock in 3000: %d", got)
	}
	if got := wallNS(day(1000)); got != math.MinInt64 {
		t.Fatalf("wall clock in 1000: %d", got)
	}
}

// A crash loses no time the log holds: records after the last checkpoint carry later times
// than the checkpoint's mark, and start-up takes the mark from them.
func TestClockRecoveredFromLog(t *testing.T) {
	t.Parallel()
	var wall atomic.Int64
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	wall.Store(t0.UnixNano())
	opts := Options{Clock: func() time.Time { return time.Unix(0, wall.Load()) }}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	e, err := open(cfg, opts) // no applier goroutine: nothing checkpoints behind the test's back
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutProduct("p", ProductSpec{LicensedItem: "Item", Mode: TrackCallerCount}, Signed{}); err != nil {
		t.Fatal(err)
	}
	if err := e.apply.applyDurable(); err != nil {
		t.Fatal(err)
	}
	if err := e.apply.commitCheckpoint(); err != nil {
		t.Fatal(err)
	}
	wall.Store(t0.Add(2 * time.Hour).UnixNano())
	if _, err := e.PutProduct("q", ProductSpec{LicensedItem: "Other", Mode: TrackCallerCount}, Signed{}); err != nil {
		t.Fatal(err)
	}
	e.apply.db.Close() // the crash: the record at t0+2h is in the log, not in a checkpoint
	e.log.Close()

	wall.Store(t0.UnixNano())
	e, err = open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.apply.db.Close(); e.log.Close() }()
	if got := time.Unix(0, e.clk.mark()).UTC(); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("recovered mark %s, want %s", got, t0.Add(2*time.Hour))
	}
}

// A running agent keeps its mark moving with the wall clock while idle, and checkpoints it:
// a crash after an idle hour does not give that hour back.
func TestClockFollowsWallWhileIdle(t *testing.T) {
	t.Parallel()
	var wall atomic.Int64
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	wall.Store(t0.UnixNano())
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	e, err := Open(cfg, Options{Clock: func() time.Time { return time.Unix(0, wall.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	later := t0.Add(time.Hour).UnixNano()
	stored := make(chan int64, 16)
	SetHookAfterCheckpoint(e, func() { stored <- e.apply.storedClock })
	wall.Store(later) // no request arrives
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-stored:
			if got >= later {
				return
			}
		case <-timeout:
			t.Fatal("no checkpoint stored the idle hour within 10 s (the applier ticks every second)")
		}
	}
}

// BenchmarkClock compares the engine's clock with the wall clock it wraps, on every core at
// once: the high-water mark is one shared word, written whenever time moved.
//
//	go test ./core -run '^$' -bench Clock -count 10 | benchstat -col /impl -
func BenchmarkClock(b *testing.B) {
	var sink atomic.Int64
	b.Run("impl=wall", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var last int64
			for pb.Next() {
				last = time.Now().UnixNano()
			}
			sink.Store(last)
		})
	})
	b.Run("impl=clock", func(b *testing.B) {
		c := newClock(time.Now, func(time.Duration) {})
		b.RunParallel(func(pb *testing.PB) {
			var last int64
			for pb.Next() {
				last = c.now()
			}
			sink.Store(last)
		})
	})
}
