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
	bp := e.getBuf()
	*bp = d.AppendTo((*bp)[:0], parts)
	seq, err := e.appendRecord(*bp)
	e.putBuf(bp)
	return seq, err
}

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
