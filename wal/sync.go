package wal

import "github.com/cockroachdb/pebble/v2"

// Sync makes every record applied so far durable now, without waiting for Async mode's
// SyncInterval, and moves DurableSeq over them. The agent calls it at shutdown and at
// start-up, before it exports records to the usage database (which must never get ahead of
// what is durable here).
func (l *Log) Sync() error {
	if err := l.readLock(); err != nil {
		return err
	}
	defer l.dbMu.RUnlock()
	l.applyMu.Lock()
	target := l.LastSeq()
	if err := l.Err(); err != nil {
		l.applyMu.Unlock()
		return err
	}
	// LogData with Sync queues behind every batch already handed to Pebble and returns once
	// Pebble's WAL is fsynced through it: every group applied before is durable.
	err := l.db.LogData(nil, pebble.Sync)
	l.applyMu.Unlock()
	if err != nil {
		return l.fail(err)
	}
	l.advanceDurable(target)
	return nil
}
