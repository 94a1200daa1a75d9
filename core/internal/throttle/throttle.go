// Package throttle keeps a log quiet under a storm: one line per period, with a count of what
// it held back. The engine and its HTTP edge both log per request on their failure paths.
package throttle

import (
	"sync/atomic"
	"time"
)

// Throttle lets one log line through per Every and counts what it held back, so that a
// failing disk under load logs a line a few seconds, not one per request.
type Throttle struct {
	Every   time.Duration
	next    atomic.Int64
	dropped atomic.Int64
}

// Allow reports whether to log now, and how many lines were held back since the last one.
func (t *Throttle) Allow(now time.Time) (bool, int64) {
	n := t.next.Load()
	if now.UnixNano() < n || !t.next.CompareAndSwap(n, now.Add(t.Every).UnixNano()) {
		t.dropped.Add(1)
		return false, 0
	}
	return true, t.dropped.Swap(0)
}
