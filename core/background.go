package core

import (
	"errors"
	"time"
)

// start launches the applier and the clocks that expire sessions and idempotency keys.
func (e *Engine) start() {
	e.bg.Add(3)
	go func() { defer e.bg.Done(); e.apply.run() }()
	go e.every(e.sessionSweep(), e.reapSessions)
	go e.every(e.idemSweep(), func(now int64) { e.idem.Expire(now) })
}

// sessionSweep and idemSweep are the periods of the clocks that check in idle sessions and
// drop expired idempotency keys; a 429 for too many of either says to retry after them.
func (e *Engine) sessionSweep() time.Duration {
	return clamp(e.cfg.SessionTimeout/10, 100*time.Millisecond, time.Minute)
}

func (e *Engine) idemSweep() time.Duration {
	return clamp(e.cfg.IdempotencyTTL/10, time.Second, time.Minute)
}

// RetryAfter is how long a client refused with ErrTooManyKeys or ErrTooManySessions should
// wait before it tries again; 0 for other errors.
func (e *Engine) RetryAfter(err error) time.Duration {
	switch {
	case errors.Is(err, ErrTooManyKeys):
		return e.idem.RetryAfter(e.nowNS(), e.idemSweep())
	case errors.Is(err, ErrTooManySessions):
		return e.sessionSweep()
	}
	return 0
}

// every runs f with the engine's time on a ticker until Close begins.
func (e *Engine) every(d time.Duration, f func(now int64)) {
	defer e.bg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f(e.nowNS())
		case <-e.closing:
			return
		}
	}
}

func clamp(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }
