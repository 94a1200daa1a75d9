package core

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// A backlog, whether a pass far behind or start-up replaying one (both advance through
// applier.advance), is written in steps of max(USAGE_WRITE_INTERVAL, maxPassActions) actions
// at record boundaries, not held in memory whole.
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
	a := &applier{e: &Engine{cfg: Config{UsageWriteInterval: 1}}, db: db}
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
