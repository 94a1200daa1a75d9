package wal

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The commit pipeline turns concurrent Appends into few Pebble batches and
// fewer fsyncs, keeping two invariants:
//
//  1. Seqs are gapless from 1 and reach Pebble in seq order: a record is never
//     written (or made durable) before a record with a lower seq. Recovery can
//     then treat any gap as corruption.
//  2. Nothing is acknowledged that might be lost: in Sync mode an Append
//     returns nil only after an fsync covering its record returned nil; once
//     any write or fsync failed, no later Append returns nil.
//
// Stages (leader/follower, as in RocksDB's write thread):
//
//	fill     under Log.mu: seq = next++, the record is copied into the
//	         filling group's frame. The appender that opens a group is its
//	         leader; the others follow. In Sync mode a follower waits for
//	         its group's answer; in Async mode it returns here, its record
//	         in the log's memory in seq order (see "Async followers" below).
//	wait     Sync mode: the leader waits until the group in flight, if any,
//	         has its fsync back (Log.flight); meanwhile its group keeps
//	         filling. Appenders never wait here, only leaders.
//	         Async mode: the leader yields the processor once (Gosched), so
//	         that appenders already runnable join its group first.
//	apply    the leader takes applyMu and, until its own group is applied,
//	         takes the oldest unapplied group (sealing it: later appenders
//	         open a new group), puts its frame into its batch as one key and
//	         its records into the tail (tail.go), and, after checking the
//	         sticky failure, calls db.ApplyNoSyncWait(batch, Sync): Pebble
//	         copies the batch into its WAL buffer, queues a sync request,
//	         applies it to the memtable and returns without waiting for the
//	         fsync. LastSeq moves.
//	sync     Pebble's WAL flusher writes the buffer to the file and fsyncs;
//	         one fsync answers every sync request queued before it.
//	settle   Sync mode: the leader waits in batch.SyncWait (Pebble wakes it
//	         directly), moves DurableSeq and wakes its followers.
//	         Async mode: the leader returns right after apply and a syncer
//	         goroutine does SyncWait and moves DurableSeq (see maxAsyncSyncs
//	         for a backlog).
//
// While group k waits for its fsync, group k+1 fills; when the fsync returns,
// k+1 is applied as one Pebble commit and its fsync starts. No mutex of ours
// is held across an fsync: Log.mu only guards the in-memory copy, applyMu the
// hand-over to Pebble's WAL buffer, and Log.flight holds back only the next
// leader, never an appender. A leader applies groups in seq order, whoever
// they belong to, so a group is applied no later than by its own leader and
// never out of order.
//
// Why one group in flight: applied as soon as they opened, groups held 1.1
// records at 64 writers and 1.3 at 256, because applying is quick and the
// fsync is not, so nearly every Append was its own Pebble commit, serialised
// under applyMu, while Pebble's flusher folded them into one fsync anyway.
// Holding the next group until the fsync returns gives groups of about 32 and
// 120 records; measured in alternating runs of core's BenchmarkDurableConsume,
// 7-25 % more consumes a second at 16 writers, 4-16 % at 64, 14-120 % at 256
// (median about 30 %), and the same at 1; against raw Pebble, medians of 0.91
// at 64 writers and 1.00 at 256, from 0.86 and 0.68. Nothing is lost by the
// wait: Pebble's flusher writes and fsyncs in one goroutine, so the next
// group's data could not reach the file before the current fsync ended.
//
// Groups and their batches are recycled: a group counts its references (one
// per appender, one for whoever settles it) and the last one to let go puts it
// back in Log.free with its batch reset, so a steady state allocates nothing
// per Append.
//
// Failure: the group whose write or fsync failed, and every group after it,
// gets the sticky error; groups not yet applied are failed without touching
// Pebble. Once Pebble's WAL writer has seen an error, a later commit through it
// may panic inside Pebble while holding Pebble's commit mutex (which would hang
// DB.Close). watchFS records the failure before Pebble sees the error and the
// check before each apply happens under applyMu, so at most the apply already
// in progress follows the failure, and no earlier commit can have handed the
// error on to it. A failed group's batch is never reused.
//
// One key a group: Pebble's cost for a key (memtable insertion, then every
// flush and compaction that carries it, about 0.8 us of CPU per key in an
// async profile, where groups hold about 8 records) does not depend on the
// value's size, so a group is stored as one key (doc.go). Measured in one
// bench/load process against a key a record, async at 64 connections, in
// turns of 500 ms over 120-180 cycles: 1.03, 1.02 and 1.02 the consumes a
// second (the last with the tail fed a group at a time rather than a record
// at a time under Log.mu); a control row of the same code gave 0.98, 1.01 and
// 1.00. The p99.9 latency fell from 8.9-9.3 ms to 6.1-6.2 ms in the last two.
// Building the frame costs one more copy of the group (into the batch), under
// applyMu.
//
// Async followers: Async promises nothing about a record before its fsync,
// and until Pebble's flusher has written it to the OS a record accepted by
// Pebble is in this process's memory as much as one still in its group's
// frame. A follower that waited for the apply only paid for a park and a
// wake-up: its leader applies the group microseconds later (after one
// yield), in seq order, and is itself an Append in flight, so whoever waits
// for the Appends to end (core's Close) still finds every group applied.
// What a follower no longer gets is an apply error: it is answered, and the
// failure, sticky, refuses the Appends after it, as a failed fsync of an
// applied Async group always did. Measured in one bench/load process against
// followers that wait, 500 ms turns, 120 cycles: 1.05x the consumes a second
// at 64 and at 256 connections (control 1.00), p99 2.02 against 2.39 ms.
//
// Designs measured or rejected:
//
//   - Each appender commits its own Pebble batch with pebble.Sync (Pebble
//     group-commits them itself). Seqs must be taken before the commit but
//     Pebble orders batches by its own mutex, so seqs could reach disk out of
//     order and a crash could keep seq n+1 and lose n: a gap that recovery
//     must treat as corruption.
//   - A dedicated committer goroutine plus a syncer goroutine (the first
//     version): two more goroutine hand-offs per group (appender → committer,
//     flusher → syncer → appenders). Measured side by side against this
//     design and raw Pebble: the same records per fsync (half the writers,
//     as for Pebble itself) and throughput within the disk's noise, but more
//     goroutines, more wake-ups per group and a more involved Close.
//   - One committer that commits with pebble.Sync and waits for the fsync
//     before taking the next group: first rejected because the next group's
//     write would never overlap the current fsync, which Pebble's flusher
//     does not do either (see above); Log.flight keeps the one group in
//     flight without the committer goroutine's hand-offs.
//   - Async mode with no yield before the apply: under load every Append was
//     its own Pebble commit (1.1 records a group at 64 HTTP connections), a
//     tenth of the agent's CPU. One Gosched gives about 8 records a group and
//     costs nothing when nothing else is runnable (the yield returns at once).
//     Measured in one bench/load process, async with and without it in six
//     ABBA rounds: 1.07x the consumes a second (per round 0.97-1.11), 29
//     against 32 us of CPU a request. The same yield in Sync mode changed
//     nothing measurable: there the flight slot already gathers the group.
//   - Async mode as pebble.NoSync commits plus a periodic LogData(Sync): NoSync
//     data sits in Pebble's user-space block buffer until the block fills, so a
//     plain process kill loses up to a SyncInterval of acknowledged records.
//     Asking for a sync and letting WALMinSyncInterval delay it makes Pebble
//     write to the OS at once and fsync at most once per interval.

// maxAsyncSyncs bounds the Async groups that carry a sync request and wait in
// syncQ for their fsync, which WALMinSyncInterval may delay by a whole
// SyncInterval. Such a group, and its batch, is in use until then, so the
// bound is also the working set of groups a burst needs (64: 6400 groups/s
// at the default interval). Past it, groups are applied without a sync
// request instead of blocking the appender, and are recycled at once; their
// data reaches the OS when Pebble's 32 KiB block fills or with the next
// fsync, and the syncer covers them with one tail sync once its queue
// drains. (Pebble itself allows 4095 outstanding sync requests.)
const maxAsyncSyncs = 64

type group struct {
	b     *pebble.Batch
	frame []byte // the group frame being filled (frame.go); into b when applied
	first uint64 // seq of the first record
	n     int    // records
	refs  atomic.Int32
	done  sync.WaitGroup // released once: the group's answer is in err
	err   error

	// Guarded by Log.applyMu.
	applied  bool
	applyErr error
	start    time.Time // apply began; only with an OnCommit hook
}

func (l *Log) newGroup() *group {
	return &group{b: l.db.NewBatch(pebble.WithMaxRetainedSizeBytes(batchRetainBytes))}
}

func (g *group) last() uint64 { return g.first + uint64(g.n) - 1 }

// add copies rec with seq into g's frame.
func (g *group) add(seq uint64, rec []byte) {
	if g.n == 0 {
		g.first = seq
		g.frame = startGroup(g.frame)
	}
	g.frame = appendGroupRecord(g.frame, rec)
	g.n++
}

// seal puts g's frame into its batch, under the key of its last seq: one
// Pebble key for the whole group (see "One key a group" above).
func (g *group) seal() {
	sealGroup(g.frame, g.n)
	op := g.b.SetDeferred(recordKeyLen, len(g.frame))
	putRecordKey(op.Key, g.last())
	copy(op.Value, g.frame)
	_ = op.Finish() // no-op for an unindexed batch
}

// Append adds rec (copied; the caller may reuse its buffer) with the next
// seq and returns once it is durable per Options.Durability. Concurrent
// Appends are group-committed.
func (l *Log) Append(rec []byte) (uint64, error) {
	return l.append(rec, nil)
}

// AppendBatch appends recs with consecutive seqs in one group, all or
// nothing, and returns the first seq (0 for no records).
func (l *Log) AppendBatch(recs [][]byte) (uint64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	return l.append(nil, recs)
}

// append adds one record, or recs if not nil, to the filling group, leads
// the group if it opened it, and waits for the group's answer.
func (l *Log) append(rec []byte, recs [][]byte) (uint64, error) {
	l.mu.Lock()
	g, lead, err := l.joinLocked()
	if err != nil {
		l.mu.Unlock()
		return 0, err
	}
	first := l.mu.next
	if recs == nil {
		g.add(first, rec)
		l.mu.next++
	} else {
		for _, r := range recs {
			g.add(l.mu.next, r)
			l.mu.next++
		}
	}
	l.sealIfFullLocked(g)
	l.mu.Unlock()
	if lead {
		l.lead(g)
	} else if l.opts.Durability == Async {
		l.release(g) // answered at once: see "Async followers" above
		return first, nil
	}
	if err := l.wait(g); err != nil {
		return 0, err
	}
	return first, nil
}

// joinLocked returns the group to add to, with a reference taken for the
// caller, and whether the caller opened it and so leads it.
func (l *Log) joinLocked() (g *group, lead bool, err error) {
	if l.mu.closed {
		return nil, false, ErrClosed
	}
	if err := l.Err(); err != nil {
		return nil, false, err
	}
	if g = l.mu.cur; g != nil {
		g.refs.Add(1)
		return g, false, nil
	}
	g = l.takeFree()
	g.refs.Store(2) // the leader's and the settler's
	g.done.Add(1)
	l.unapplied.Add(1)
	l.inflight.Add(1)
	l.mu.cur = g
	return g, true, nil
}

func (l *Log) sealIfFullLocked(g *group) {
	if len(g.frame) >= maxGroupBytes {
		l.mu.sealed = append(l.mu.sealed, g)
		l.mu.cur = nil
	}
}

// takeOldestLocked removes and returns the oldest unapplied group.
func (l *Log) takeOldestLocked() *group {
	if len(l.mu.sealed) > 0 {
		g := l.mu.sealed[0]
		l.mu.sealed[0] = nil
		l.mu.sealed = l.mu.sealed[1:]
		return g
	}
	g := l.mu.cur
	if g == nil {
		panic("BUG: wal: a leader found no unapplied group")
	}
	l.mu.cur = nil
	return g
}

// lead applies groups up to and including own, then, in Sync mode, settles
// own.
func (l *Log) lead(own *group) {
	if l.opts.Durability == Sync {
		l.flight <- struct{}{} // given back in settle
	} else {
		runtime.Gosched() // let runnable appenders join own first: see "wait" above
	}
	l.applyMu.Lock()
	for !own.applied {
		l.mu.Lock()
		g := l.takeOldestLocked()
		l.mu.Unlock()
		l.applyGroupLocked(g)
	}
	applyErr := own.applyErr
	l.applyMu.Unlock()
	if l.opts.Durability == Sync {
		l.settle(own, applyErr)
	}
}

// applyGroupLocked hands g to Pebble. applyMu is held.
func (l *Log) applyGroupLocked(g *group) {
	if l.opts.OnCommit != nil {
		g.start = time.Now()
	}
	g.seal()
	l.tail.putGroup(g.first, g.frame[groupHeaderLen:], g.n)
	syncReq := l.opts.Durability == Sync || l.asyncSyncs.Load() < maxAsyncSyncs
	if syncReq && l.opts.Durability == Async {
		l.asyncSyncs.Add(1) // before lastSeq moves: see syncLoop
	}
	err := l.applyLocked(g.b, syncReq)
	g.applied, g.applyErr = true, err
	l.unapplied.Done()
	if err == nil {
		l.lastSeq.Store(g.last())
	}
	if l.opts.Durability == Sync {
		return
	}
	if err == nil {
		l.observe(g)
	}
	l.answer(g, err)
	if err != nil || !syncReq {
		if syncReq {
			l.asyncSyncs.Add(-1)
		}
		l.finish(g)
		return
	}
	l.syncQ <- g
}

// settle waits for g's fsync (Sync mode, on g's leader) and answers g.
func (l *Log) settle(g *group, err error) {
	applied := err == nil
	if applied {
		if err = g.b.SyncWait(); err != nil {
			err = l.fail(err) // sticky before the next group may be applied
		}
	}
	<-l.flight // the next group may be applied: its fsync could not start before this one's ended
	if applied && err == nil {
		l.advanceDurable(g.last())
		l.observe(g)
	}
	l.answer(g, err)
	l.finish(g)
}

// syncLoop settles Async groups in seq order. Once no group with a sync
// request is outstanding, records applied without one may still be
// unsynced; a tail sync covers them.
func (l *Log) syncLoop() {
	defer close(l.stopped)
	for g := range l.syncQ {
		if err := g.b.SyncWait(); err != nil {
			l.fail(err)
		} else {
			l.advanceDurable(g.last())
		}
		l.finish(g)
		if l.asyncSyncs.Add(-1) == 0 && l.lastSeq.Load() > l.durableSeq.Load() {
			l.syncTail()
		}
	}
}

// advanceDurable raises DurableSeq to seq. Leaders of different groups settle
// concurrently; a successful fsync of group k also covers every group before
// it (Pebble syncs its WAL in order and a failure is sticky), so the maximum
// is right.
func (l *Log) advanceDurable(seq uint64) {
	for {
		cur := l.durableSeq.Load()
		if seq <= cur {
			return
		}
		if l.durableSeq.CompareAndSwap(cur, seq) {
			break
		}
	}
	select {
	case l.durable <- struct{}{}:
	default:
	}
}

func (l *Log) answer(g *group, err error) {
	g.err = err
	g.done.Done()
}

// finish drops the settler's reference once g is settled.
func (l *Log) finish(g *group) {
	l.release(g)
	l.inflight.Done()
}

func (l *Log) observe(g *group) {
	if l.opts.OnCommit != nil {
		l.opts.OnCommit(g.n, time.Since(g.start))
	}
}

// wait blocks until g is answered and returns the answer.
func (l *Log) wait(g *group) error {
	g.done.Wait()
	err := g.err
	l.release(g)
	return err
}

// release drops one reference; the last one recycles g. A group of a failed
// log is dropped: its batch may still be referenced inside Pebble.
func (l *Log) release(g *group) {
	if g.refs.Add(-1) != 0 {
		return
	}
	if g.err != nil || l.Err() != nil {
		return
	}
	g.b.Reset()
	if cap(g.frame) > batchRetainBytes {
		g.frame = nil
	}
	g.n, g.first, g.err = 0, 0, nil
	g.applied, g.applyErr = false, nil
	l.free.Lock()
	if len(l.free.groups) < maxFreeGroups {
		l.free.groups = append(l.free.groups, g)
	}
	l.free.Unlock()
}

// maxFreeGroups bounds the groups kept for reuse (each keeps its batch's buffer).
const maxFreeGroups = 1024

// takeFree returns a recycled group, or a new one.
func (l *Log) takeFree() *group {
	l.free.Lock()
	defer l.free.Unlock()
	if n := len(l.free.groups); n > 0 {
		g := l.free.groups[n-1]
		l.free.groups = l.free.groups[:n-1]
		return g
	}
	return l.newGroup()
}

// apply hands b to Pebble with a sync request, without waiting for the fsync.
func (l *Log) apply(b *pebble.Batch) error {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	return l.applyLocked(b, true)
}

// applyLocked is apply with applyMu held, with or without a sync request.
// Every write of ours into Pebble goes through here.
func (l *Log) applyLocked(b *pebble.Batch, syncReq bool) (err error) {
	if err := l.Err(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = l.fail(pebblePanic(r))
		}
	}()
	if syncReq {
		err = l.db.ApplyNoSyncWait(b, pebble.Sync)
	} else {
		err = l.db.Apply(b, pebble.NoSync)
	}
	if err != nil {
		return l.fail(err)
	}
	return nil
}

// applySync applies b and waits for its fsync. It holds dbMu for reading only
// while handing b to Pebble: the fsync may wait for WALMinSyncInterval, and
// Close, which needs dbMu, is what ends that wait by closing Pebble.
func (l *Log) applySync(b *pebble.Batch) error {
	if err := l.readLock(); err != nil {
		return err
	}
	err := l.apply(b)
	l.dbMu.RUnlock()
	if err != nil {
		return err
	}
	return l.syncWait(b)
}

// syncWait waits for the fsync of an applied batch.
func (l *Log) syncWait(b *pebble.Batch) error {
	if err := b.SyncWait(); err != nil {
		return l.fail(err)
	}
	return nil
}

// pebblePanic turns what Pebble panicked with on a failed write (an I/O error,
// or our own fatalError from Fatalf) into an error; anything else is a bug
// and keeps panicking.
func pebblePanic(r any) error {
	var rerr runtime.Error
	err, ok := r.(error)
	if !ok || errors.As(err, &rerr) {
		panic(r)
	}
	return err
}
