package core

import "time"

// start launches the applier and the clocks that expire sessions and idempotency keys.
func (e *Engine) start() {
	e.bg.Add(3)
	go func() { defer e.bg.Done(); e.apply.run() }()
	go e.every(clamp(e.cfg.SessionTimeout/10, 100*time.Millisecond, time.Minute), e.reapSessions)
	go e.every(clamp(e.cfg.IdempotencyTTL/10, time.Second, time.Minute), func(now int64) { e.idem.expire(now) })
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
