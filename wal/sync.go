package wal

// Sync makes every record whose Append has returned durable and moves
// DurableSeq over them. core calls it at start-up and at shutdown, before it
// exports records to the usage database, which must never get ahead of what
// is durable here. In Sync mode it returns at once unless groups are still in
// flight; in Async mode it first hands Pebble the groups whose leaders have
// yet to, and may wait for the fsync that Pebble's WALMinSyncInterval allows
// next (at most SyncInterval). Appends are not held up meanwhile.
func (l *Log) Sync() error {
	if err := l.readLock(); err != nil {
		return err
	}
	if l.opts.Durability == Async {
		l.applyPending()
	}
	return l.syncApplied()
}

// applyPending applies every group opened so far, as their leaders would: an
// Async follower's Append returns before its group is applied (commit.go,
// "Async followers"), and a Sync after it must cover its record all the same.
// A leader whose group this applies finds it applied and returns.
func (l *Log) applyPending() {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	for {
		l.mu.Lock()
		if len(l.mu.sealed) == 0 && l.mu.cur == nil {
			l.mu.Unlock()
			return
		}
		g := l.takeOldestLocked()
		l.mu.Unlock()
		l.applyGroupLocked(g)
	}
}

// syncTail is Sync for the Async syncer: it records a failure instead of
// returning it, and it gives way to Close (which syncs when it closes
// Pebble) instead of waiting for dbMu.
func (l *Log) syncTail() {
	if !l.dbMu.TryRLock() {
		return
	}
	if l.closed.Load() {
		l.dbMu.RUnlock()
		return
	}
	_ = l.syncApplied()
}

// syncApplied hands Pebble an empty record that asks for a sync: Pebble's WAL
// is ordered, so its fsync covers every batch applied before it. dbMu is held
// for reading on entry and released before the wait (see applySync).
func (l *Log) syncApplied() error {
	l.applyMu.Lock()
	target := l.lastSeq.Load()
	if l.DurableSeq() >= target {
		l.applyMu.Unlock()
		l.dbMu.RUnlock()
		return l.Err()
	}
	b := l.db.NewBatch()
	_ = b.LogData(nil, nil)
	err := l.applyLocked(b, true)
	l.applyMu.Unlock()
	l.dbMu.RUnlock()
	if err != nil {
		return err
	}
	if err := l.syncWait(b); err != nil {
		return err
	}
	l.advanceDurable(target)
	return b.Close()
}
