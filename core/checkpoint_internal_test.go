package core

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd/core/config"
)

// The checkpoint cadence keeps the log short on a busy agent and writes nothing on an idle
// one: a checkpoint is due after checkpointEvery records or checkpointInterval, and then
// committed only if something changed since the last one: records applied, the usage
// database's head, or the clock's high-water mark by stepTolerance or more. Not parallel: it
// changes checkpointEvery, which every engine reads.
func TestCheckpointCadence(t *testing.T) {
	defer func(n uint64) { checkpointEvery = n }(checkpointEvery)
	checkpointEvery = 4
	var wall atomic.Int64
	wall.Store(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval = t.TempDir(), 1000
	e, err := open(cfg, Options{Clock: func() time.Time { return time.Unix(0, wall.Load()) }}) // no applier goroutine
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.apply.db.Close(); e.log.Close() }()
	a := e.apply
	var commits int
	hook := func() { commits++ }
	e.hookAfterCheckpoint.Store(&hook)
	provisionItem(t, e)
	// step checkpoints as the applier's pass does, with the interval elapsed or not, and
	// says whether it committed.
	step := func(elapsed bool) bool {
		t.Helper()
		if elapsed {
			a.cpAt = time.Now().Add(-checkpointInterval)
		} else {
			a.cpAt = time.Now().Add(time.Hour)
		}
		before := commits
		if err := a.checkpoint(false); err != nil {
			t.Fatal(err)
		}
		return commits > before
	}
	consumeApplied(t, e, 0)
	if !step(true) {
		t.Fatal("no checkpoint of the product and the order with the interval elapsed")
	}
	base := a.cpSeq

	consumeApplied(t, e, int(checkpointEvery)-1)
	if step(false) || a.cpSeq != base {
		t.Fatalf("checkpoint at %d after %d records, before checkpointEvery (%d) or the interval", a.cpSeq, checkpointEvery-1, checkpointEvery)
	}
	consumeApplied(t, e, 1)
	if !step(false) || a.cpSeq != base+checkpointEvery {
		t.Fatalf("checkpoint at %d, want %d: exactly checkpointEvery records since %d", a.cpSeq, base+checkpointEvery, base)
	}

	if step(true) {
		t.Fatal("an idle agent committed a checkpoint with nothing changed")
	}
	wall.Add(int64(stepTolerance) - 1)
	e.clk.now() // as the applier's ticker does while idle
	if step(true) {
		t.Fatal("a checkpoint for a clock mark that moved less than stepTolerance")
	}
	wall.Add(1)
	e.clk.now()
	if !step(true) {
		t.Fatal("no checkpoint for a clock mark that moved by stepTolerance")
	}

	if err := a.write(true); err != nil || a.db.ExportedSeq() != a.cpSeq {
		t.Fatalf("write: %v; usage database head %d, want %d", err, a.db.ExportedSeq(), a.cpSeq)
	}
	if !step(true) || a.storedExported != a.cpSeq {
		t.Fatalf("usage database head moved to %d with no record; the checkpoint stores %d", a.db.ExportedSeq(), a.storedExported)
	}
}

// The first checkpoint after a start truncates the log through it, as every later one does:
// the log a restart found already truncated is not taken for one that still holds records.
func TestTruncationAfterRestart(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageDatabase = t.TempDir(), config.UsageOff
	e, err := Open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutProduct("p", ProductSpec{LicensedItem: "Item", Mode: TrackCallerCount}, Signed{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil { // checkpoints and truncates
		t.Fatal(err)
	}
	e, err = open(cfg, Options{}) // no applier goroutine: the test runs its steps
	if err != nil {
		t.Fatal(err)
	}
	defer e.log.Close()
	a := e.apply
	if _, err := e.Provision("users/u", Order{ExternalID: "x", Items: []OrderItem{{ProductID: "p", Quantity: 100}}}, Signed{}); err != nil {
		t.Fatal(err)
	}
	if err := a.applyDurable(); err != nil {
		t.Fatal(err)
	}
	a.cpAt = time.Now().Add(-checkpointInterval)
	if err := a.checkpoint(false); err != nil {
		t.Fatal(err)
	}
	if first := e.log.FirstSeq(); first != a.cpSeq+1 {
		t.Fatalf("log starts at %d after the checkpoint at %d, want %d", first, a.cpSeq, a.cpSeq+1)
	}
}
