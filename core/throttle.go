package core

import (
	"sync/atomic"
	"time"
)

// throttle lets one log line through per period and counts what it held back, so that a
// failing disk under load logs a line a few seconds, not one per request.
type throttle struct {
	every   time.Duration
	next    atomic.Int64
	dropped atomic.Int64
}

// allow reports whether to log now, and how many lines were held back since the last one.
func (t *throttle) allow(now time.Time) (bool, int64) {
	n := t.next.Load()
	if now.UnixNano() < n || !t.next.CompareAndSwap(n, now.Add(t.every).UnixNano()) {
		t.dropped.Add(1)
		return false, 0
	}
	return true, t.dropped.Swap(0)
}
