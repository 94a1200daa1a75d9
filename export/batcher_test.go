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

// TestBatcherInterval feeds records as core does: each record's actions,
// then Advance. A write happens exactly when interval actions are pending.
func TestBatcherInterval(t *testing.T) {
	db, b, log := newBatcher(t, 3)
	as := actions(1, 7)
	for i, a := range as {
		if err := b.Add(a); err != nil {
			t.Fatal(err)
		}
		b.Advance(a.WALSeq)
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

// TestBatcherWholeRecords gives one record (a provision of several items)
// more actions than the interval: they are written together, and a later
// record's Add writes what was pending without Advance.
func TestBatcherWholeRecords(t *testing.T) {
	db, b, log := newBatcher(t, 2)
	record := actions(5, 3)
	for i := range record {
		record[i].WALSeq = 5
		b.Add(record[i])
	}
	if b.Pending() != 3 || len(log.rows) != 0 {
		t.Fatalf("wrote part of a record: pending %d, writes %v", b.Pending(), log)
	}
	if err := b.Add(actions(7, 1)[0]); err != nil {
		t.Fatal(err)
	}
	if b.Pending() != 1 || db.HeadSeq() != 3 || db.ExportedSeq() != 5 {
		t.Fatalf("got pending %d, head %d, exported %d; want 1, 3, 5", b.Pending(), db.HeadSeq(), db.ExportedSeq())
	}
	// A crash after that write: start-up replays record 5 and 7 again.
	b2 := export.NewBatcher(db, 2, export.BatcherHooks{})
	for _, a := range append(record, actions(7, 1)...) {
		b2.Add(a)
	}
	if err := b2.Flush(); err != nil || db.HeadSeq() != 4 {
		t.Fatalf("replay: %v, head %d; want 4 rows in all", err, db.HeadSeq())
	}
}

func TestBatcherAdvance(t *testing.T) {
	db, b, log := newBatcher(t, 2)
	b.Add(actions(1, 1)[0])
	b.Advance(40) // non-actions do not count towards the interval
	if len(log.rows) != 0 || b.Pending() != 1 {
		t.Fatalf("Advance wrote: %v, pending %d", log, b.Pending())
	}
	b.Add(actions(41, 1)[0])
	b.Advance(41)
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

// Coalescing: Add and Advance only buffer, however many intervals pile up, and one Flush
// writes them all in one transaction.
func TestBatcherCoalesce(t *testing.T) {
	db, b, log := newBatcher(t, 2)
	b.Coalesce()
	acts := actions(1, 7)
	for _, a := range acts {
		if err := b.Add(a); err != nil {
			t.Fatal(err)
		}
		b.Advance(a.WALSeq)
	}
	if len(log.rows) != 0 || !b.Due() || b.Pending() != 7 {
		t.Fatalf("coalescing batcher wrote %v, due %v, pending %d", log, b.Due(), b.Pending())
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(log.rows) != 1 || db.ExportedSeq() != acts[6].WALSeq || b.Due() {
		t.Fatalf("one Flush: writes %v, exported %d, due %v", log, db.ExportedSeq(), b.Due())
	}
}

func TestBatcherSkipsExported(t *testing.T) {
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
	db, b, _ := newBatcher(t, 1)
	db.Close()
	b.Add(actions(1, 1)[0])
	b.Advance(1) // the write fails; the action stays
	if err := b.Add(actions(3, 1)[0]); !errors.Is(err, export.ErrClosed) || b.Pending() != 2 {
		t.Fatalf("got %v, pending %d; want ErrClosed and both actions kept", err, b.Pending())
	}
	if err := b.Flush(); !errors.Is(err, export.ErrClosed) {
		t.Fatalf("Flush: got %v, want ErrClosed", err)
	}
}

func TestBatcherIntervalBelowOne(t *testing.T) {
	db, b, _ := newBatcher(t, 0)
	b.Add(actions(1, 1)[0])
	b.Advance(1)
	if b.Pending() != 0 || db.HeadSeq() != 1 {
		t.Fatalf("interval 0: pending %d, head %d; want every record written", b.Pending(), db.HeadSeq())
	}
}
