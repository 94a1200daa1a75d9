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
	db, err := export.Open(export.Options{Path: filepath.Join(t.TempDir(), "usage.db"),
		Key: make([]byte, export.KeySize), Level: export.Standard, AgentID: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var writes []int
	a := &applier{e: &Engine{cfg: config.Config{UsageWriteInterval: 1}}, db: db}
	a.batcher = export.NewBatcher(db, 1, export.BatcherHooks{OnWrite: func(_, actions int, _ time.Duration) {
		writes = append(writes, actions)
	}})
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for seq := uint64(1); seq <= 10; seq++ {
		a.emit(export.Action{WALSeq: seq, Time: at, Kind: export.Consume, Owner: "users/u", Item: "Item",
			LicenseID: "lic", Units: 1})
		if err := a.advance(seq); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(writes, []int{4, 4}) || a.batcher.Pending() != 2 || db.ExportedSeq() != 8 {
		t.Fatalf("writes %v, pending %d, exported %d; want [4 4], 2 pending, exported through 8",
			writes, a.batcher.Pending(), db.ExportedSeq())
	}
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
