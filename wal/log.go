package wal

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// Log is a write-ahead log of opaque records plus a state store, on one
// Pebble database. All methods are safe for concurrent use.
type Log struct {
	dir  string
	opts Options
	db   *pebble.DB

	// mu guards the filling end of the pipeline (see commit.go).
	mu struct {
		sync.Mutex
		next   uint64   // seq of the next record
		cur    *group   // group being filled, or nil
		sealed []*group // full groups not yet applied, in seq order
		closed bool
	}
	// free holds settled groups for reuse, each with its own Pebble batch. A plain list, not a
	// sync.Pool: in Async mode a group waits up to SyncInterval for its fsync, so a burst needs
	// many groups at once, and a pool the GC empties would make them allocate again.
	free struct {
		sync.Mutex
		groups []*group
	}

	// Groups opened and not yet applied / not yet settled; Close waits for
	// both.
	unapplied  sync.WaitGroup
	inflight   sync.WaitGroup
	syncQ      chan *group   // Async mode: applied groups awaiting their fsync, in seq order
	asyncSyncs atomic.Int32  // Async groups with a sync request not yet settled
	stopped    chan struct{} // closed when the syncer has drained syncQ
	durable    chan struct{} // cap 1: DurableSeq advanced

	// applyMu serialises every write into Pebble (groups, checkpoints,
	// truncations) with the check of the sticky failure; see commit.go.
	applyMu sync.Mutex
	// flight is a one-slot semaphore: in Sync mode a leader takes it before
	// applying and gives it back when its fsync returns, so one group is in
	// flight and the next gathers the appenders that arrive meanwhile (see
	// commit.go). Appenders never wait for it; only leaders do.
	flight  chan struct{}
	failure atomic.Pointer[error] // sticky; wraps ErrUnavailable

	lastSeq       atomic.Uint64
	durableSeq    atomic.Uint64
	checkpointSeq atomic.Uint64
	firstSeq      atomic.Uint64

	// metaMu serialises Checkpoint.Commit and Truncate, which read and move
	// checkpointSeq and firstSeq together.
	metaMu sync.Mutex
	// dbMu keeps Close from closing Pebble under a reader or while a batch is
	// handed to Pebble (not during its fsync: see applySync).
	dbMu   sync.RWMutex
	closed atomic.Bool

	tail *tail // the newest records, for Records (see tail.go)
}

// LastSeq returns the highest seq written to Pebble (visible to Records).
func (l *Log) LastSeq() uint64 { return l.lastSeq.Load() }

// DurableSeq returns the highest seq such that it and every seq below it are
// fsynced.
func (l *Log) DurableSeq() uint64 { return l.durableSeq.Load() }

// CheckpointSeq returns the seq of the last committed checkpoint (0: none).
func (l *Log) CheckpointSeq() uint64 { return l.checkpointSeq.Load() }

// FirstSeq returns the lowest seq still stored, LastSeq()+1 when none is.
func (l *Log) FirstSeq() uint64 { return l.firstSeq.Load() }

// Durable returns a channel (capacity 1, coalescing, for a single consumer)
// that is signalled whenever DurableSeq advances.
func (l *Log) Durable() <-chan struct{} { return l.durable }

// Err returns the sticky failure, nil while the log is healthy. It wraps
// ErrUnavailable and the original cause.
func (l *Log) Err() error {
	if p := l.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records cause as the sticky failure unless one is already recorded,
// and returns the sticky failure.
func (l *Log) fail(cause error) error {
	err := unavailable(cause)
	if l.failure.CompareAndSwap(nil, &err) {
		l.logf("wal: %s: failed: %v", l.dir, cause)
		return err
	}
	return l.Err()
}

// Close waits for the appends already accepted, fsyncs and closes Pebble.
// Appends that arrive meanwhile, and every later call, get ErrClosed. If the
// log had failed, Close returns that failure. Close must not be called from a
// Records or State callback.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.mu.closed = true
	l.mu.Unlock()
	l.unapplied.Wait()

	// A group settles by its fsync, which in Async mode may wait for Pebble's
	// WALMinSyncInterval. Closing Pebble's WAL writer fsyncs at once and
	// answers the sync requests still queued.
	l.dbMu.Lock()
	defer l.dbMu.Unlock()
	l.closed.Store(true)
	err := l.db.Close()
	l.inflight.Wait()
	close(l.syncQ)
	<-l.stopped
	if failed := l.Err(); failed != nil {
		return failed
	}
	if err != nil {
		return fmt.Errorf("wal: close %s: %w", l.dir, err)
	}
	return nil
}

// closedErr returns ErrClosed once Close has closed Pebble.
func (l *Log) closedErr() error {
	if l.closed.Load() {
		return ErrClosed
	}
	return nil
}

// readLock takes dbMu for a call that uses Pebble outside the pipeline.
func (l *Log) readLock() error {
	l.dbMu.RLock()
	if l.closed.Load() {
		l.dbMu.RUnlock()
		return ErrClosed
	}
	return nil
}
