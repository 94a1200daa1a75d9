package core

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/export"
)

// A backlog, whether a pass far behind or start-up replaying one (both advance through
// applier.advance), is written in steps of max(USAGE_WRITE_INTERVAL, maxPassActions) actions
// at record boundaries, not held in memory whole. Not parallel: it changes maxPassActions,
// which every engine reads.
func TestAdvanceWritesBacklogInSteps(t *testing.T) {
	defer func(n int) { maxPassActions = n }(maxPassActions)
	maxPassActions = 4
	a, db, writes := batchApplier(t)
	for seq := uint64(1); seq <= 10; seq++ {
		a.addAction(t, seq)
	}
	if !slices.Equal(*writes, []int{4, 4}) || a.batcher.Pending() != 2 || db.ExportedSeq() != 8 {
		t.Fatalf("writes %v, pending %d, exported %d; want [4 4], 2 pending, exported through 8",
			*writes, a.batcher.Pending(), db.ExportedSeq())
	}
}

// Writes that are not final keep minWriteGap apart: a write due by USAGE_WRITE_INTERVAL
// within the gap is held, with every action kept; a final write is not; and a failed write
// holds the next as a successful one does, so that a failing disk is not retried every pass.
func TestWritesKeepMinWriteGap(t *testing.T) {
	t.Parallel()
	a, db, writes := batchApplier(t)
	step := func(seq uint64, final bool, wantExported uint64, wantHeld bool) {
		t.Helper()
		a.addAction(t, seq)
		if err := a.write(final); err != nil {
			t.Fatal(err)
		}
		_, held := a.heldFor()
		if db.ExportedSeq() != wantExported || held != wantHeld {
			t.Fatalf("after seq %d (final %v): exported %d, held %v; want %d, %v (writes %v)",
				seq, final, db.ExportedSeq(), held, wantExported, wantHeld, *writes)
		}
	}
	step(1, false, 1, false) // the first write goes at once
	step(2, false, 1, true)  // the next, within the gap, is held
	step(3, false, 1, true)
	step(4, true, 4, false) // a final write is not held, and takes what was
	a.lastWrite = time.Now().Add(-minWriteGap)
	step(5, false, 5, false) // past the gap
	if !slices.Equal(*writes, []int{1, 3, 1}) {
		t.Fatalf("writes of %v actions, want [1 3 1]", *writes)
	}

	a.lastWrite = time.Time{}
	db.Close()
	a.addAction(t, 6)
	if err := a.write(false); err == nil {
		t.Fatal("a write to a closed usage database succeeded")
	}
	if _, held := a.heldFor(); !held || a.batcher.Pending() != 1 {
		t.Fatalf("after a failed write: held %v, %d pending; want held, 1 pending", held, a.batcher.Pending())
	}
}

// A write that minWriteGap holds back goes out once the gap is over, with no record after it
// and no tick to trigger a pass: the records behind it may be the last for a long while. The
// tick is pushed an hour away, so only the applier's own timer can write the last record. Not
// parallel: it changes checkpointInterval and minWriteGap, which every engine reads.
func TestHeldWriteNeedsNoLaterRecord(t *testing.T) {
	defer func(c, g time.Duration) { checkpointInterval, minWriteGap = c, g }(checkpointInterval, minWriteGap)
	// Long enough that the last consume's pass lands within the gap on a slow machine too.
	checkpointInterval, minWriteGap = time.Hour, 300*time.Millisecond
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval = t.TempDir(), 1
	e, err := open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	exported := make(chan uint64, 64)
	db := e.apply.db
	e.apply.batcher = export.NewBatcher(db, 1, export.BatcherHooks{OnWrite: func(int, int, time.Duration) {
		exported <- db.ExportedSeq() // on the applier's goroutine, which owns db
	}})
	e.start()
	defer e.Close()
	written := func(seq uint64) {
		t.Helper()
		guard := time.After(10 * time.Second) // a hang guard only: a held write is due in 300 ms
		for {
			select {
			case got := <-exported:
				if got >= seq {
					return
				}
			case <-guard:
				t.Fatalf("record %d not written to the usage database 10 s after it was applied", seq)
			}
		}
	}
	provisionItem(t, e)
	written(e.log.LastSeq()) // the first write goes at once and starts the gap
	var ans Answer
	if err := e.Consume(&ConsumeRequest{Owner: "users/u", Item: "Item", Units: 1}, &ans); err != nil || !ans.Granted {
		t.Fatalf("consume: %+v, %v", ans, err)
	}
	written(e.log.LastSeq())
}

// Replay after a crash re-applies records the usage database may already hold: an action
// whose record is at or below its watermark is not added again, or it would be billed twice.
func TestEmitSkipsWhatTheUsageDatabaseHolds(t *testing.T) {
	t.Parallel()
	db, err := export.Open(export.Options{Path: filepath.Join(t.TempDir(), "usage.db"),
		Key: make([]byte, export.KeySize), Level: export.Standard, AgentID: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &applier{e: &Engine{cfg: config.Config{UsageWriteInterval: 100}}, db: db}
	a.batcher = export.NewBatcher(db, 100, export.BatcherHooks{})
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	act := func(seq uint64) export.Action {
		return export.Action{WALSeq: seq, Time: at, Kind: export.Consume, Owner: "users/u", Item: "Item", LicenseID: "lic", Units: 1}
	}
	for seq := uint64(1); seq <= 3; seq++ {
		a.emit(act(seq))
		a.batcher.Advance(seq)
	}
	if err := a.batcher.Flush(); err != nil || db.ExportedSeq() != 3 {
		t.Fatalf("flush: %v, exported %d; want 3", err, db.ExportedSeq())
	}
	for seq := uint64(2); seq <= 4; seq++ { // replay from 2: 2 and 3 are in the database
		a.emit(act(seq))
	}
	if n := a.batcher.Pending(); n != 1 {
		t.Fatalf("%d actions pending after replaying 2..4 over a database holding 1..3, want 1 (seq 4)", n)
	}
}

// The log keeps every record the usage database may still need at the next start: truncation
// stops at the watermark the state store remembers, not at the one the database has reached
// since. A database restored to a copy from in between must find its records in the log.
func TestTruncationKeepsRecordsPastStoredWatermark(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval = t.TempDir(), 4
	e, err := open(cfg, Options{}) // no applier goroutine: the test runs its steps
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.apply.db.Close(); e.log.Close() }()
	a := e.apply
	provisionItem(t, e)
	consumeApplied(t, e, 1) // 1 provision + 1 consume pending: under the interval
	if err := a.commitCheckpoint(); err != nil {
		t.Fatal(err)
	}
	stored, cp := a.storedExported, a.cpSeq
	consumeApplied(t, e, 2) // now due: written past the checkpoint's watermark
	if err := a.write(false); err != nil {
		t.Fatal(err)
	}
	if err := a.checkpoint(false); err != nil { // the checkpoint itself is not due yet
		t.Fatal(err)
	}
	if a.cpSeq != cp || a.db.ExportedSeq() <= stored {
		t.Fatalf("setup: checkpoint %d (was %d), exported %d, stored %d", a.cpSeq, cp, a.db.ExportedSeq(), stored)
	}
	if first := e.log.FirstSeq(); first > stored+1 {
		t.Fatalf("log truncated to start at %d, past the stored watermark %d", first, stored)
	}
}

// A crash with the checkpoint ahead of the usage database (its interval not yet due): at the
// next start the state is ahead of the database's watermark, the records between are still in
// the log, and they are exported as actions, each unit once, with no unexported row.
func TestRestartWithExportBehindCheckpoint(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval = t.TempDir(), 1000
	e, err := open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	provisionItem(t, e)
	for range 6 {
		var ans Answer
		if err := e.Consume(&ConsumeRequest{Owner: "users/u", Item: "Item", Units: 2}, &ans); err != nil || !ans.Granted {
			t.Fatalf("consume: %+v, %v", ans, err)
		}
	}
	if err := e.apply.applyDurable(); err != nil {
		t.Fatal(err)
	}
	if err := e.apply.commitCheckpoint(); err != nil {
		t.Fatal(err)
	}
	if e.apply.db.ExportedSeq() != 0 {
		t.Fatalf("setup: exported through %d, want nothing yet", e.apply.db.ExportedSeq())
	}
	crash(e)
	restartAndBill(t, cfg, 12)
}

// A crash with the usage database ahead of the checkpoint, by thousands of records over
// several licenses: start-up counts what the records between add, and the database and the
// state agree, with nothing written twice and no unexported row.
func TestRestartWithExportAheadOfCheckpoint(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval, cfg.Durability = t.TempDir(), 10, config.DurabilityAsync
	e, err := open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	items := []string{"A", "B", "C"}
	for _, it := range items {
		if _, err := e.PutProduct("p"+it, ProductSpec{LicensedItem: it, Mode: TrackCallerCount}, Signed{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Provision("users/u", Order{ExternalID: "x" + it, Items: []OrderItem{{ProductID: "p" + it, Quantity: 100000}}}, Signed{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.log.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := e.apply.applyDurable(); err != nil {
		t.Fatal(err)
	}
	if err := e.apply.commitCheckpoint(); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		var ans Answer
		if err := e.Consume(&ConsumeRequest{Owner: "users/u", Item: items[i%3], Units: 1}, &ans); err != nil || !ans.Granted {
			t.Fatalf("consume: %+v, %v", ans, err)
		}
	}
	if err := e.log.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := e.apply.applyDurable(); err != nil { // writes the usage database as it goes, no checkpoint
		t.Fatal(err)
	}
	if err := e.apply.write(true); err != nil {
		t.Fatal(err)
	}
	if x, a := e.apply.db.ExportedSeq(), e.apply.cpSeq; x <= a+2000 {
		t.Fatalf("setup: exported through %d, checkpoint at %d", x, a)
	}
	crash(e)
	restartAndBill(t, cfg, 3000)
}

// A pass that keeps failing for the same reason (a full disk, a usage database gone) logs it
// once, not once a second; a new reason is logged again.
func TestApplierLogsEachFailureOnce(t *testing.T) {
	t.Parallel()
	var log strings.Builder
	a := &applier{e: &Engine{logger: slog.New(slog.NewTextHandler(&log, nil))}}
	full, gone := errors.New("disk full"), errors.New("usage database gone")
	for _, err := range []error{full, full, full, nil, full, gone, gone} {
		a.setErr(err)
	}
	if n := strings.Count(log.String(), "level=ERROR"); n != 3 {
		t.Fatalf("%d lines logged, want 3 (full, full again after a recovery, gone):\n%s", n, log.String())
	}
	if err := a.health(); err == nil || !strings.Contains(err.Error(), "usage database gone") {
		t.Fatalf("health: %v, want the last failure", err)
	}
}

// crash stops e as a kill would: no final pass, no last checkpoint.
func crash(e *Engine) {
	e.apply.db.Close()
	e.log.Close()
}

// restartAndBill starts the engine on cfg and stops it, then checks that the usage database
// verifies and bills units, each once: no unexported row.
func restartAndBill(t *testing.T, cfg config.Config, units int64) {
	t.Helper()
	e, err := Open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	key, err := export.LoadKey(cfg.UsageKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	s, err := export.Verify(cfg.UsageDatabasePath(), key)
	if err != nil || s.Units != units || len(s.Gaps) != 0 {
		t.Fatalf("verify: %+v, %v; want %d units and no unexported row", s, err, units)
	}
}

// provisionItem defines product p (licensed item Item, caller counts) and orders 100 units of
// it for users/u.
func provisionItem(t *testing.T, e *Engine) {
	t.Helper()
	if _, err := e.PutProduct("p", ProductSpec{LicensedItem: "Item", Mode: TrackCallerCount}, Signed{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Provision("users/u", Order{ExternalID: "x", Items: []OrderItem{{ProductID: "p", Quantity: 100}}}, Signed{}); err != nil {
		t.Fatal(err)
	}
}

// consumeApplied takes n single units of users/u's Item, each granted, then applies what is
// durable as the applier's pass would (the tests here run no applier goroutine).
func consumeApplied(t *testing.T, e *Engine, n int) {
	t.Helper()
	for range n {
		var ans Answer
		if err := e.Consume(&ConsumeRequest{Owner: "users/u", Item: "Item", Units: 1}, &ans); err != nil || !ans.Granted {
			t.Fatalf("consume: %+v, %v", ans, err)
		}
	}
	if err := e.apply.applyDurable(); err != nil {
		t.Fatal(err)
	}
}

// batchApplier is an applier with nothing but a usage database and a batcher due at every
// action (USAGE_WRITE_INTERVAL 1), which notes in *writes the actions of each write.
func batchApplier(t *testing.T) (a *applier, db *export.DB, writes *[]int) {
	t.Helper()
	db, err := export.Open(export.Options{Path: filepath.Join(t.TempDir(), "usage.db"),
		Key: make([]byte, export.KeySize), Level: export.Standard, AgentID: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	writes = new([]int)
	a = &applier{e: &Engine{cfg: config.Config{UsageWriteInterval: 1}}, db: db}
	a.batcher = export.NewBatcher(db, 1, export.BatcherHooks{OnWrite: func(_, actions int, _ time.Duration) {
		*writes = append(*writes, actions)
	}})
	return a, db, writes
}

// addAction hands the applier record seq holding one consume action, as a pass would.
func (a *applier) addAction(t *testing.T, seq uint64) {
	t.Helper()
	a.emit(export.Action{WALSeq: seq, Time: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), Kind: export.Consume,
		Owner: "users/u", Item: "Item", LicenseID: "lic", Units: 1})
	if err := a.advance(seq); err != nil {
		t.Fatal(err)
	}
}
