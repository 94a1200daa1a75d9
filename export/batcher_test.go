package export_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

type writeLog struct{ rows, actions []int }

func (w *writeLog) hooks() export.BatcherHooks {
	return export.BatcherHooks{OnWrite: func(rows, actions int, d time.Duration) {
		w.rows, w.actions = append(w.rows, rows), append(w.actions, actions)
	}}
}

func newBatcher(t *testing.T, interval int) (*export.DB, *export.Batcher, *writeLog) {
	db := openDB(t, filepath.Join(t.TempDir(), "usage.db"), export.Detailed, testKey(t), agentA)
	t.Cleanup(func() { db.Close() })
	var log writeLog
	return db, export.NewBatcher(db, interval, log.hooks()), &log
}

// feed gives b each record's actions and advances past the record, as the agent does, and
// writes between records once the batcher is due.
func feed(t *testing.T, b *export.Batcher, acts []export.Action) {
	t.Helper()
	for i, a := range acts {
		b.Add(a)
		if i+1 < len(acts) && acts[i+1].WALSeq == a.WALSeq {
			continue // the record goes on
		}
		b.Advance(a.WALSeq)
		if b.Due() {
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Due turns true exactly when interval actions are pending.
func TestBatcherInterval(t *testing.T) {
	t.Parallel()
	db, b, log := newBatcher(t, 3)
	as := actions(1, 7)
	for i := range as {
		feed(t, b, as[i:i+1])
		wantPending, wantHead := (i+1)%3, int64((i+1)/3*3)
		if b.Pending() != wantPending || db.HeadSeq() != wantHead {
			t.Fatalf("after %d actions: pending %d, head %d; want %d, %d", i+1, b.Pending(), db.HeadSeq(), wantPending, wantHead)
		}
	}
	if b.ExportedSeq() != as[5].WALSeq {
		t.Fatalf("got exported %d, want %d", b.ExportedSeq(), as[5].WALSeq)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if b.Pending() != 0 || db.HeadSeq() != 7 || len(log.rows) != 3 || log.actions[2] != 1 {
		t.Fatalf("after Flush: pending %d, head %d, writes %v", b.Pending(), db.HeadSeq(), log)
	}
}

// One record (a provision of several items) with more actions than the interval is written
// whole, and a replay of records already written writes nothing twice.
func TestBatcherWholeRecords(t *testing.T) {
	t.Parallel()
	db, b, log := newBatcher(t, 2)
	record := actions(5, 3)
	for i := range record {
		record[i].WALSeq = 5
	}
	feed(t, b, record)
	if b.Pending() != 0 || len(log.rows) != 1 || log.actions[0] != 3 || db.ExportedSeq() != 5 {
		t.Fatalf("got pending %d, writes %v, exported %d; want the record's 3 actions in one write", b.Pending(), log, db.ExportedSeq())
	}
	feed(t, b, actions(7, 1))
	// A crash after that: start-up replays records 5 and 7 again.
	b2 := export.NewBatcher(db, 2, export.BatcherHooks{})
	for _, a := range append(record, actions(7, 1)...) {
		b2.Add(a)
	}
	if err := b2.Flush(); err != nil || db.HeadSeq() != 4 {
		t.Fatalf("replay: %v, head %d; want 4 rows in all", err, db.HeadSeq())
	}
}

func TestBatcherAdvance(t *testing.T) {
	t.Parallel()
	db, b, log := newBatcher(t, 2)
	b.Add(actions(1, 1)[0])
	b.Advance(40) // non-actions do not count towards the interval
	if b.Due() || b.Pending() != 1 {
		t.Fatalf("due %v, pending %d after one action", b.Due(), b.Pending())
	}
	feed(t, b, actions(41, 1))
	if db.ExportedSeq() != 41 || db.HeadSeq() != 2 {
		t.Fatalf("got exported %d, head %d; want 41, 2", db.ExportedSeq(), db.HeadSeq())
	}
	b.Advance(60)
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if db.ExportedSeq() != 60 || db.HeadSeq() != 2 || log.rows[1] != 0 {
		t.Fatalf("Flush of a watermark: exported %d, head %d, writes %v", db.ExportedSeq(), db.HeadSeq(), log)
	}
	if err := b.Flush(); err != nil || len(log.rows) != 2 {
		t.Fatalf("Flush with nothing new wrote: %v, %v", err, log)
	}
}

// Add and Advance only buffer, however many intervals pile up, and one Flush writes them all
// in one transaction.
func TestBatcherBuffersUntilFlush(t *testing.T) {
	t.Parallel()
	db, b, log := newBatcher(t, 2)
	acts := actions(1, 7)
	for _, a := range acts {
		b.Add(a)
		b.Advance(a.WALSeq)
	}
	if len(log.rows) != 0 || !b.Due() || b.Pending() != 7 {
		t.Fatalf("batcher wrote %v, due %v, pending %d", log, b.Due(), b.Pending())
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(log.rows) != 1 || db.ExportedSeq() != acts[6].WALSeq || b.Due() {
		t.Fatalf("one Flush: writes %v, exported %d, due %v", log, db.ExportedSeq(), b.Due())
	}
}

func TestBatcherSkipsExported(t *testing.T) {
	t.Parallel()
	db, _, _ := newBatcher(t, 100)
	as := actions(1, 6)
	db.Write(as[:4], as[3].WALSeq)
	b := export.NewBatcher(db, 100, export.BatcherHooks{})
	for _, a := range as { // start-up replays the WAL from before the watermark
		b.Add(a)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if db.HeadSeq() != 6 {
		t.Fatalf("got head %d, want 6", db.HeadSeq())
	}
}

func TestBatcherKeepsActionsOnError(t *testing.T) {
	t.Parallel()
	db, b, _ := newBatcher(t, 1)
	db.Close()
	b.Add(actions(1, 1)[0])
	b.Advance(1)
	if err := b.Flush(); !errors.Is(err, export.ErrClosed) || b.Pending() != 1 {
		t.Fatalf("got %v, pending %d; want ErrClosed and the action kept", err, b.Pending())
	}
	b.Add(actions(3, 1)[0])
	if err := b.Flush(); !errors.Is(err, export.ErrClosed) || b.Pending() != 2 {
		t.Fatalf("Flush again: got %v, pending %d; want ErrClosed and both actions kept", err, b.Pending())
	}
}

func TestBatcherIntervalBelowOne(t *testing.T) {
	t.Parallel()
	_, b, _ := newBatcher(t, 0)
	b.Add(actions(1, 1)[0])
	if !b.Due() {
		t.Fatal("interval 0: not due after one action; want every action due")
	}
}
