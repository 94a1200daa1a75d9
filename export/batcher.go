package export

import "time"

// BatcherHooks observe a Batcher; nil fields are skipped.
type BatcherHooks struct {
	// OnWrite is called after each successful write with the rows written,
	// the actions they hold and how long the write took.
	OnWrite func(rows, actions int, d time.Duration)
}

// Batcher honours USAGE_WRITE_INTERVAL: it buffers actions and writes them
// once interval actions have been added since the last write, at the end of
// the WAL record that reached the interval. Not safe for concurrent use.
type Batcher struct {
	db       *DB
	interval int
	hooks    BatcherHooks
	buf      []Action
	through  uint64 // highest WAL seq seen, actions or not
	coalesce bool   // Add and Advance only buffer; the caller writes when Due
}

// NewBatcher returns a Batcher writing to db every interval actions; an
// interval below 1 means every action.
func NewBatcher(db *DB, interval int, hooks BatcherHooks) *Batcher {
	interval = max(interval, 1)
	return &Batcher{db: db, interval: interval, hooks: hooks, buf: make([]Action, 0, min(interval, 4096)), through: db.ExportedSeq()}
}

// Add buffers a. Once interval actions are pending they are written, as
// soon as the WAL records they came from are known to be complete: at the
// next Add of a later record, or at Advance. The actions of one record
// share its WAL seq and are always written together, because the watermark
// cannot cover half a record. On a failed write the actions stay buffered
// and the next Add, Advance or Flush tries again.
func (b *Batcher) Add(a Action) error {
	var err error
	if !b.coalesce && len(b.buf) >= b.interval && a.WALSeq > b.buf[len(b.buf)-1].WALSeq {
		err = b.Flush() // before a joins: b.through covers only finished records
	}
	b.buf = append(b.buf, a)
	b.through = max(b.through, a.WALSeq)
	return err
}

// Advance records that WAL record walSeq and all before it are complete:
// call it after emitting each record's actions, and for records that are
// not actions. The next write moves wal_seq there, and if interval actions
// are pending they are written now. A failed write leaves them buffered: the
// next Add or Flush retries it and returns the error, and DB.Writable
// reports it meanwhile.
func (b *Batcher) Advance(walSeq uint64) {
	b.through = max(b.through, walSeq)
	if !b.coalesce && b.Due() {
		b.Flush()
	}
}

// Coalesce makes Add and Advance only buffer; the caller writes with Flush when Due, between
// records. The agent does so once per pass over the records that became durable, so that
// under load one transaction (and one fsync) carries every interval's worth of actions that
// piled up meanwhile, instead of the export falling behind one fsync per interval.
func (b *Batcher) Coalesce() { b.coalesce = true }

// Due reports whether interval actions are pending.
func (b *Batcher) Due() bool { return len(b.buf) >= b.interval }

// Pending is the number of actions buffered and not yet written.
func (b *Batcher) Pending() int { return len(b.buf) }

// Flush writes whatever is buffered, and the watermark, now. Call it
// between records (shutdown, start-up), not amid one record's actions.
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
