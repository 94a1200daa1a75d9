package wal

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Checkpoint is an atomic, fsynced batch of state-key updates that brings the
// stored state to a seq. Build it with Set and Delete, then Commit once. A
// Checkpoint is not safe for concurrent use; different ones are.
type Checkpoint struct {
	l    *Log
	seq  uint64
	b    *pebble.Batch
	done bool
}

// NewCheckpoint starts a checkpoint that brings the state to seq.
func (l *Log) NewCheckpoint(seq uint64) *Checkpoint {
	return &Checkpoint{l: l, seq: seq, b: l.db.NewBatch()}
}

// Set sets state key to value (both copied).
func (c *Checkpoint) Set(key, value []byte) {
	op := c.b.SetDeferred(1+len(key), len(value))
	op.Key[0] = statePrefix
	copy(op.Key[1:], key)
	copy(op.Value, value)
	_ = op.Finish()
}

// Delete removes state key (copied).
func (c *Checkpoint) Delete(key []byte) {
	op := c.b.DeleteDeferred(1 + len(key))
	op.Key[0] = statePrefix
	copy(op.Key[1:], key)
	_ = op.Finish()
}

// errCommitted is returned by a second Commit of the same Checkpoint.
var errCommitted = errors.New("wal: checkpoint already committed")

// Commit writes the updates and the checkpoint seq in one fsynced Pebble
// batch. The seq must be >= CheckpointSeq() and <= DurableSeq(): a checkpoint
// never covers a record that a crash could still take away.
func (c *Checkpoint) Commit() error {
	if c.done {
		return errCommitted
	}
	c.done = true
	l := c.l
	if err := l.closedErr(); err != nil {
		return err
	}
	l.metaMu.Lock()
	defer l.metaMu.Unlock()
	if lo, hi := l.CheckpointSeq(), l.DurableSeq(); c.seq < lo || c.seq > hi {
		return fmt.Errorf("wal: checkpoint at %d outside [checkpoint %d, durable %d]", c.seq, lo, hi)
	}
	_ = c.b.Set(metaCheckpoint, encodeUint64(c.seq), nil)
	if err := l.applySync(c.b); err != nil {
		return err
	}
	l.checkpointSeq.Store(c.seq)
	return c.b.Close()
}

// Truncate deletes the records with seq <= through, which must be <=
// CheckpointSeq(), in one fsynced batch with the new truncation mark.
// Truncating what is already gone is a no-op.
func (l *Log) Truncate(through uint64) error {
	if err := l.closedErr(); err != nil {
		return err
	}
	l.metaMu.Lock()
	defer l.metaMu.Unlock()
	if ck := l.CheckpointSeq(); through > ck {
		return fmt.Errorf("wal: truncate through %d beyond checkpoint %d", through, ck)
	}
	first := l.FirstSeq()
	if through < first {
		return nil
	}
	b := l.db.NewBatch()
	_ = b.DeleteRange(recordKey(first), recordKey(through+1), nil)
	_ = b.Set(metaTruncated, encodeUint64(through), nil)
	if err := l.applySync(b); err != nil {
		return err
	}
	l.firstSeq.Store(through + 1)
	return b.Close()
}
