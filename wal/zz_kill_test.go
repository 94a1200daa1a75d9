package wal_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

func TestZZKill(t *testing.T) {
	for _, wait := range []time.Duration{0, 100 * time.Microsecond, time.Millisecond} {
		fs := vfs.NewCrashableMem()
		l := mustOpen(t, fs, wal.Options{Durability: wal.Async, SyncInterval: time.Hour})
		var last uint64
		for i := range 2000 {
			last, _ = l.Append(payload(0, i))
		}
		time.Sleep(wait)
		img := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100})
		t.Logf("wait %v: acked %d durable %d", wait, last, l.DurableSeq())
		l.Close()
		t.Logf("closed")
		l2 := mustOpen(t, img, wal.Options{})
		t.Logf("  process-kill image holds %d of %d", l2.LastSeq(), last)
		l2.Close()
	}
}
