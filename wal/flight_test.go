package wal_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

// While one group waits for its fsync, the appenders that arrive gather into the next group
// instead of each becoming a Pebble commit of its own: with 32 appenders and 1 ms fsyncs,
// groups hold many records.
func TestSyncGroupsGather(t *testing.T) {
	var groups, records atomic.Int64
	l := mustOpen(t, slowSyncs(vfs.NewMem()), wal.Options{Durability: wal.Sync,
		OnCommit: func(n int, _ time.Duration) { groups.Add(1); records.Add(int64(n)) }})
	defer mustClose(t, l)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 40 {
				if _, err := l.Append([]byte("record")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := float64(records.Load()) / float64(groups.Load()); records.Load() != 32*40 || got < 8 {
		t.Fatalf("%d records in %d groups (%.1f a group), want 1280 in groups of at least 8", records.Load(), groups.Load(), got)
	}
}
