package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestCrashDuringCheckpointAndTruncate takes a crash image at every file
// system operation of Checkpoint.Commit, Truncate and the flush and
// compaction that drop the truncated records, and between Commit and
// Truncate. Every image must reopen to a consistent pair: the state is the
// one written with the checkpoint seq, no record between the checkpoint and
// the last acknowledged record is missing, and the records run contiguously.
func TestCrashDuringCheckpointAndTruncate(t *testing.T) {
	mem := vfs.NewCrashableMem()
	rng := rand.New(rand.NewPCG(1, 2))
	var armed atomic.Bool
	type image struct {
		fs    *vfs.MemFS
		acked uint64 // every seq <= acked was acknowledged before the image
	}
	// Guarded by mu: the injector also runs on Pebble's own goroutines.
	var (
		mu     sync.Mutex
		images []image
		acked  uint64
	)
	snap := func() {
		mu.Lock()
		defer mu.Unlock()
		images = append(images, image{mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng}), acked})
	}
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(errorfs.Op) error {
		if armed.Load() {
			snap()
		}
		return nil
	}))
	l, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 6 {
		var seq uint64
		for i := range 40 {
			if seq, err = l.Append(fmt.Appendf(nil, "round %d record %d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		acked = seq
		mu.Unlock()
		mu.Lock()
		ckSeq := seq - uint64(rng.IntN(10))
		through := ckSeq - uint64(rng.IntN(10))
		mu.Unlock()
		armed.Store(true)
		ck := l.NewCheckpoint(ckSeq)
		ck.Set([]byte("seq"), binary.BigEndian.AppendUint64(nil, ckSeq))
		ck.Set(fmt.Appendf(nil, "round-%d", round), nil)
		if err := ck.Commit(); err != nil {
			t.Fatal(err)
		}
		snap()
		if err := l.Truncate(through); err != nil {
			t.Fatal(err)
		}
		if round%2 == 1 {
			if err := l.db.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := l.db.Compact(context.Background(), []byte{recordPrefix}, []byte{recordPrefix + 1}, false); err != nil {
				t.Fatal(err)
			}
		}
		armed.Store(false)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for i, img := range images {
		checkImage(t, fmt.Sprintf("image %d", i), img.fs, img.acked)
	}
	t.Logf("%d crash images checked", len(images))
}

func checkImage(t *testing.T, name string, fs vfs.FS, acked uint64) {
	t.Helper()
	l, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatalf("%s: Open: %v", name, err)
	}
	defer l.Close()
	ck, first, last := l.CheckpointSeq(), l.FirstSeq(), l.LastSeq()
	if first > ck+1 || ck > last || last < acked {
		t.Fatalf("%s: checkpoint %d, records %d..%d, acknowledged through %d", name, ck, first, last, acked)
	}
	var stateSeq uint64
	err = l.State(func(k, v []byte) error {
		if string(k) == "seq" {
			stateSeq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil || stateSeq != ck {
		t.Fatalf("%s: state written with checkpoint %d, checkpoint seq is %d (err %v)", name, stateSeq, ck, err)
	}
	n := uint64(0)
	err = l.Records(first, math.MaxUint64, func(uint64, []byte) error { n++; return nil })
	if err != nil || n != last-first+1 {
		var ce *CorruptError
		t.Fatalf("%s: read %d records of %d..%d: %v (corrupt: %v)", name, n, first, last, err, errors.As(err, &ce))
	}
}
