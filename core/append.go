package core

import (
	"errors"
	"fmt"

	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
	"github.com/meterd/meterd/wal"
)

// appendDecision logs d, with parts for its Parts, and returns its sequence number once the
// log's durability mode allows the answer to go out.
func (e *Engine) appendDecision(d *record.Decision, parts []shard.Part) (uint64, error) {
	var room [scratchRoom]byte
	return e.appendRecord(d.AppendTo(room[:0], parts))
}

// scratchRoom is the room the hot path builds records and lookup keys in, on the stack:
// neither outlives its call (the log, the license table and the session table copy what they
// keep), so no pool is needed. A record of the longest ids takes more and goes to the heap;
// the usual one takes about 120 bytes.
const scratchRoom = 512

func (e *Engine) appendRecord(rec []byte) (uint64, error) {
	seq, err := e.log.Append(rec)
	if err != nil {
		return 0, e.walFailed(err)
	}
	if hook := e.hookAfterAppend.Load(); hook != nil {
		(*hook)()
	}
	return seq, nil
}

// walFailed turns a log error into the engine's: nothing was acknowledged, the caller gives
// back what it took and answers 503.
func (e *Engine) walFailed(err error) error {
	if errors.Is(err, wal.ErrClosed) {
		return ErrClosed
	}
	e.metrics.WALError()
	if ok, held := e.walLog.Allow(e.clock()); ok {
		e.logger.Error("wal append failed; answering 503", "err", err, "suppressed", held)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
