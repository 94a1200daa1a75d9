package core

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/export"
)

// Checkpoint cadence: often enough that truncation keeps the log short, rarely enough that
// the extra Pebble commits stay a small fraction of the group commits. A variable only so
// that a test can take the idle pass it also times out of the way.
var checkpointInterval = time.Second

// checkpointEvery is the other half of the cadence, in records. A variable only so that a test
// can make it small.
var checkpointEvery uint64 = 1 << 14

// maxPassActions bounds the actions one pass buffers before it writes them, when
// USAGE_WRITE_INTERVAL is smaller. A pass that starts far behind (start-up after a long
// outage, or the batch endpoint outrunning the usage database) would otherwise hold the whole
// backlog in memory and grow its buffer by copying it: measured under batch load, that copy
// was a tenth of the agent's CPU and the buffer ran to hundreds of megabytes.
// A variable only so that a test can make it small.
var maxPassActions = 1 << 16

// passGap is the least time between two passes that follow new records.
const passGap = time.Millisecond

// minWriteGap is the least time between two writes of the usage database that are not final.
// Under load USAGE_WRITE_INTERVAL actions pile up within a pass, and a write a pass meant 470
// transactions a second under sync consume at 64 connections, each with its fsync
// (synchronous=FULL) on the disk the WAL's group commits wait on, and its commit's CPU taken
// from the handlers: that agent ran at 0.91-0.95x of one with the usage database off, with
// 1.17-1.20x its p99. With writes this far apart (20 a second), one transaction carries every
// interval that piled up meanwhile. Nothing waits for them: the records stay in the log until
// they are written, and a stop writes everything. Below USAGE_WRITE_INTERVAL actions per gap
// nothing changes. A variable only so that a test can change it.
var minWriteGap = 50 * time.Millisecond

// applier follows the log's durable tail in sequence order: it applies each record to the
// durable state, hands pay-per-use actions to the batcher, checkpoints and truncates. It runs
// on one goroutine (after start-up and until Close calls finish), so neither the durable
// state nor the usage database connection needs a lock.
type applier struct {
	e         *Engine
	d         *durable
	db        *export.DB // nil when the usage database is off
	batcher   *export.Batcher
	cpSeq     uint64
	cpAt      time.Time
	truncated uint64
	// storedExported is the usage database head the state store remembers (keyExported).
	storedExported uint64
	storedClock    int64                 // the clock's high-water mark the state store remembers (keyClock)
	err            atomic.Pointer[error] // why the last pass failed, for /healthz
	lastWrite      time.Time             // when the last write that was not final began
	done           chan struct{}
	dec            record.Decoder
}

func (a *applier) run() {
	defer close(a.done)
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	gap := time.NewTimer(passGap)
	gap.Stop() // armed after each pass that followed new records
	defer gap.Stop()
	held := time.NewTimer(minWriteGap)
	held.Stop() // armed while minWriteGap holds a due write back
	defer held.Stop()
	for {
		if wait, ok := a.heldFor(); ok {
			// The records behind a held write may be the last for a while: the pass that
			// writes them must not wait for more to arrive, or for the next tick.
			held.Reset(wait)
		}
		select {
		case <-a.e.log.Durable():
			a.pass(false, false)
			// Let records pile up before the next pass: each pass opens a Pebble iterator,
			// which cost more than the records it read when passes followed every group commit
			// (measured: the applier at a quarter of the agent's CPU, most of it in
			// Iterator.First). Nothing waits for the applier but the usage database, which
			// trails by USAGE_WRITE_INTERVAL anyway.
			gap.Reset(passGap)
			select {
			case <-gap.C:
			case <-a.e.closing:
				return
			}
		case <-held.C:
			a.pass(false, false)
		case <-tick.C:
			a.e.clk.now() // the high-water mark follows the wall clock while idle, for the checkpoint
			a.pass(false, true)
		case <-a.e.closing:
			return
		}
	}
}

// pass applies what became durable, writes the usage database when USAGE_WRITE_INTERVAL
// actions are pending (or final is set), then checkpoints and truncates when due. With probe
// set it also checks that the usage database still takes writes while none are due.
func (a *applier) pass(final, probe bool) error {
	err := a.applyDurable()
	if err == nil {
		err = a.write(final)
	}
	if err == nil && probe {
		err = a.seal()
	}
	if err == nil {
		err = a.checkpoint(final)
	}
	if err == nil && probe && a.db != nil {
		if perr := a.db.Writable(); perr != nil {
			err = fmt.Errorf("usage database: %w", perr)
		}
	}
	a.setErr(err)
	if a.batcher != nil {
		a.e.metrics.ExportLag(a.batcher.Pending())
	}
	return err
}

func (a *applier) applyDurable() error {
	to := a.e.log.DurableSeq()
	if to <= a.d.applied {
		return nil
	}
	return a.e.log.Records(a.d.applied+1, to, func(seq uint64, b []byte) error {
		rec, err := a.dec.Decode(b)
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", a.e.walDir, seq, err)
		}
		if err := a.d.apply(seq, rec, a.sink()); err != nil {
			return fmt.Errorf("%s: %w", a.e.walDir, err)
		}
		return a.advance(seq)
	})
}

// advance tells the batcher that record seq is complete, and writes what it holds when that
// has reached max(USAGE_WRITE_INTERVAL, maxPassActions), between records as Flush requires.
func (a *applier) advance(seq uint64) error {
	if a.batcher == nil {
		return nil
	}
	a.batcher.Advance(seq)
	if a.batcher.Pending() >= max(a.e.cfg.UsageWriteInterval, maxPassActions) {
		return a.write(true)
	}
	return nil
}

func (a *applier) emit(act export.Action) {
	if act.WALSeq > a.batcher.ExportedSeq() {
		a.batcher.Add(act)
	}
}

// sink is where the durable state sends pay-per-use actions: nowhere when the usage database
// is off, so that they are not even built.
func (a *applier) sink() func(export.Action) {
	if a.batcher == nil {
		return nil
	}
	return a.emit
}

// write honours USAGE_WRITE_INTERVAL: once interval actions are pending, the pass that got
// them there writes them, all of them, in one transaction, unless the last write began less
// than minWriteGap ago. Under load a write covers many intervals and still costs one fsync of
// the usage database, so the export keeps up instead of falling one fsync per interval
// behind. A final write (a stop, a rotation, a backlog at maxPassActions) goes at once.
func (a *applier) write(final bool) error {
	if a.batcher == nil || !(final || a.batcher.Due()) {
		return nil
	}
	if !final {
		if _, held := a.heldFor(); held {
			return nil
		}
		// A failed write counts too, so that a full disk is retried every minWriteGap, not
		// every pass.
		a.lastWrite = time.Now()
	}
	if err := a.batcher.Flush(); err != nil {
		return fmt.Errorf("usage database: %w", err)
	}
	return nil
}

// heldFor reports whether minWriteGap holds back a write that USAGE_WRITE_INTERVAL has made
// due, and for how much longer.
func (a *applier) heldFor() (time.Duration, bool) {
	if a.batcher == nil || !a.batcher.Due() {
		return 0, false
	}
	wait := minWriteGap - time.Since(a.lastWrite)
	return wait, wait > 0
}

// seal closes the usage database's segment once its period is over (USAGE_ROTATE), idle or
// not, so the customer can send it: what is pending is written first, and Write puts each
// action in its period's segment.
func (a *applier) seal() error {
	now := time.Unix(0, a.e.nowNS())
	if a.db == nil || !a.db.PeriodOver(now) {
		return nil
	}
	if err := a.write(true); err != nil {
		return err
	}
	if _, err := a.db.Seal(now); err != nil {
		return fmt.Errorf("usage database: %w", err)
	}
	return nil
}

func (a *applier) checkpoint(final bool) error {
	due := a.d.applied-a.cpSeq >= checkpointEvery || time.Since(a.cpAt) >= checkpointInterval
	metaDirty := a.d.agentNew || (a.batcher != nil && a.batcher.ExportedSeq() != a.storedExported) ||
		a.e.clk.mark()-a.storedClock >= int64(stepTolerance)
	if (a.d.applied > a.cpSeq || metaDirty || !a.d.dirty.empty()) && (due || final) {
		if err := a.commitCheckpoint(); err != nil {
			return err
		}
		if hook := a.e.hookAfterCheckpoint.Load(); hook != nil {
			(*hook)()
		}
	}
	// What the state store says the usage database holds, not what it holds now: a usage
	// database restored to a copy from before the last checkpoint must still find its records
	// in the log at the next start, rather than having them truncated away.
	through := a.cpSeq
	if a.batcher != nil {
		through = min(through, a.storedExported)
	}
	if through <= a.truncated {
		return nil
	}
	if err := a.e.log.Truncate(through); err != nil {
		return fmt.Errorf("truncate through %d: %w", through, err)
	}
	a.truncated = through
	return nil
}

func (a *applier) setErr(err error) {
	if err == nil {
		a.err.Store(nil)
		return
	}
	if old := a.err.Load(); old == nil || (*old).Error() != err.Error() {
		a.e.logger.Error("applier", "err", err)
	}
	a.err.Store(&err)
}

func (a *applier) health() error {
	if p := a.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (a *applier) commitCheckpoint() error {
	a.d.expireIdem(a.e.nowNS())
	cp := a.e.log.NewCheckpoint(a.d.applied)
	a.d.writeCheckpoint(cp)
	cp.Set(record.AgentKey, []byte(a.d.agentID))
	clock := a.e.clk.mark()
	cp.Set(keyClock, strconv.AppendInt(nil, clock, 10))
	exported := a.storedExported
	if a.batcher != nil {
		exported = a.batcher.ExportedSeq()
		cp.Set(keyExported, strconv.AppendUint(nil, exported, 10))
	}
	if err := cp.Commit(); err != nil {
		return fmt.Errorf("checkpoint %d: %w", a.d.applied, err)
	}
	a.d.dirty.reset()
	a.d.agentNew, a.storedExported, a.storedClock = false, exported, clock
	a.cpSeq, a.cpAt = a.d.applied, time.Now()
	return nil
}

// finish runs after every call has ended: the last pass writes everything to the usage
// database and checkpoints, then the database is closed.
func (a *applier) finish() error {
	<-a.done
	a.e.clk.now() // the last checkpoint keeps the time of the stop, and expires keys by it
	err := a.pass(true, false)
	if a.db != nil {
		err = errors.Join(err, a.db.Close())
	}
	return err
}
