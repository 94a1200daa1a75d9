package wal

// Sync makes every record applied so far durable and moves DurableSeq over
// them. core calls it at start-up and at shutdown, before it exports records
// to the usage database, which must never get ahead of what is durable here.
// In Sync mode it returns at once unless groups are still in flight; in Async
// mode it may wait for the fsync that Pebble's WALMinSyncInterval allows
// next (at most SyncInterval). Appends are not held up meanwhile.
func (l *Log) Sync() error {
	if err := l.readLock(); err != nil {
		return err
	}
	return l.syncApplied()
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
