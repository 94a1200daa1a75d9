package core

import (
	"math"
	"sync/atomic"
	"time"
)

// stepTolerance is how far the wall clock may fall behind the engine's time before the step is
// logged and counted: NTP's small corrections stay quiet, a clock set back does not.
const stepTolerance = time.Second

// keyClock stores the clock's high-water mark (unix ns) with each checkpoint.
var keyClock = []byte("m/clock")

// clock is the time the engine decides with: the wall clock, but never earlier than a time it
// has already handed out or that the log holds. The customer controls the system clock; setting
// it back must neither revive an expired credit nor back-date a row of the usage database. While
// the wall clock is behind, time stands still at the high-water mark until the wall clock
// catches up.
//
// The mark is durable: every logged record carries the time it was decided at, and each
// checkpoint stores the mark, which the applier moves with the wall clock at least once a
// second, idle or not. After a crash the mark can be at most that second (plus one checkpoint
// commit) behind the time last handed out.
type clock struct {
	wall   func() time.Time
	hw     atomic.Int64 // unix ns: the latest time handed out or recovered
	behind atomic.Bool  // the wall clock is more than stepTolerance behind hw
	onStep func(behind time.Duration)
}

func newClock(wall func() time.Time, onStep func(time.Duration)) *clock {
	return &clock{wall: wall, onStep: onStep}
}

// now returns the engine's time in unix ns: the wall clock's, or the high-water mark if that
// is later. Safe for concurrent use; one atomic load, and a compare-and-swap when time moved.
func (c *clock) now() int64 {
	w := wallNS(c.wall())
	for {
		h := c.hw.Load()
		if w <= h {
			if h-w > int64(stepTolerance) && !c.behind.Load() && !c.behind.Swap(true) {
				c.onStep(time.Duration(h - w))
			}
			return h
		}
		if c.hw.CompareAndSwap(h, w) {
			if c.behind.Load() {
				c.behind.Store(false)
			}
			return w
		}
	}
}

// advance raises the high-water mark to t if t is later: start-up feeds it the checkpoint's
// mark and the time of every record it replays.
func (c *clock) advance(t int64) {
	for h := c.hw.Load(); t > h && !c.hw.CompareAndSwap(h, t); h = c.hw.Load() {
	}
}

// mark is the high-water mark, for the checkpoint.
func (c *clock) mark() int64 { return c.hw.Load() }

// wallNS is t in unix ns, held inside what int64 nanoseconds represent (years 1678 to 2262):
// a system clock set outside that range must not wrap around.
func wallNS(t time.Time) int64 {
	switch {
	case t.Before(minNSTime):
		return math.MinInt64
	case t.After(maxNSTime):
		return math.MaxInt64 - 1 // MaxInt64 itself means "open-ended" in credit windows
	}
	return t.UnixNano()
}

var (
	minNSTime = time.Unix(0, math.MinInt64)
	maxNSTime = time.Unix(0, math.MaxInt64-1)
)
