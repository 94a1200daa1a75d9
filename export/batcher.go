package export

import "time"

// BatcherHooks observe a Batcher; nil fields are skipped.
type BatcherHooks struct {
	// OnWrite is called after each successful write with the rows written,
	// the actions they hold and how long the write took.
	OnWrite func(rows, actions int, d time.Duration)
}

// Batcher buffers actions for USAGE_WRITE_INTERVAL. Its owner adds each WAL
// record's actions, then Advances past the record (and past records that hold
// no actions), and writes with Flush, between records, once Due: the actions
// of one record share its WAL seq and must be written together, because the
// watermark cannot cover half a record. The owner decides when, so that one
// write can carry every interval that piled up meanwhile: the agent writes
// once per pass over the records that became durable, and under load one
// transaction (and one fsync) then covers many intervals instead of the
// export falling behind one fsync per interval. Not safe for concurrent use.
type Batcher struct {
	db       *DB
	interval int
	hooks    BatcherHooks
	buf      []Action
	through  uint64 // highest WAL seq seen, actions or not
}

// NewBatcher returns a Batcher due every interval actions; an interval below
// 1 means every action.
func NewBatcher(db *DB, interval int, hooks BatcherHooks) *Batcher {
	interval = max(interval, 1)
	return &Batcher{db: db, interval: interval, hooks: hooks, buf: make([]Action, 0, min(interval, 4096)), through: db.ExportedSeq()}
}

// Add buffers a.
func (b *Batcher) Add(a Action) {
	b.buf = append(b.buf, a)
	b.through = max(b.through, a.WALSeq)
}

// Advance records that WAL record walSeq and all before it are complete, so
// the next Flush moves the watermark there.
func (b *Batcher) Advance(walSeq uint64) { b.through = max(b.through, walSeq) }

// Due reports whether interval actions are pending.
func (b *Batcher) Due() bool { return len(b.buf) >= b.interval }

// Pending is the number of actions buffered and not yet written.
func (b *Batcher) Pending() int { return len(b.buf) }

// Flush writes whatever is buffered, and the watermark, now. Call it
// between records, not amid one record's actions. On a failed write the
// actions stay buffered for the next Flush, and DB.Writable reports the
// error meanwhile.
func (b *Batcher) Flush() error {
	if len(b.buf) == 0 && b.through <= b.db.ExportedSeq() {
		return nil
	}
	start := time.Now()
	rows, err := b.db.Write(b.buf, b.through)
	if err != nil {
		return err
	}
	if b.hooks.OnWrite != nil {
		b.hooks.OnWrite(rows, len(b.buf), time.Since(start))
	}
	clear(b.buf) // drop the strings the actions hold
	b.buf = b.buf[:0]
	return nil
}

// ExportedSeq is the highest WAL seq written to the database.
func (b *Batcher) ExportedSeq() uint64 { return b.db.ExportedSeq() }
