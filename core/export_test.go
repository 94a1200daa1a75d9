package core

// Failpoints for the external tests.

func SetHookAfterAppend(e *Engine, f func())     { e.hookAfterAppend.Store(&f) }
func SetHookAfterCheckpoint(e *Engine, f func()) { e.hookAfterCheckpoint.Store(&f) }

// ReapSessions runs the SESSION_TIMEOUT sweep now, at the engine's clock.
func ReapSessions(e *Engine) { e.reapSessions(e.nowNS()) }

// ExpireIdempotencyKeys runs the IDEMPOTENCY_TTL sweep now, at the engine's clock.
func ExpireIdempotencyKeys(e *Engine) { e.idem.Expire(e.nowNS()) }
