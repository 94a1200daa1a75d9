package wal_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/meterd/meterd/wal"
)

// TestCrash takes a crash image of the file system (only synced data kept,
// plus a random share of the rest) while appenders run, and checks what a
// restart finds: every record acknowledged before the image (in Async mode:
// every one that was also DurableSeq) with its exact bytes, one contiguous
// run, and appends that continue after the last record.
func TestCrash(t *testing.T) {
	for _, d := range []wal.Durability{wal.Sync, wal.Async} {
		for seed := range uint64(6) {
			t.Run(fmt.Sprintf("durability=%s/seed=%d", d, seed), func(t *testing.T) {
				testCrash(t, d, seed)
			})
		}
	}
}

// appenders runs writers goroutines appending until stop is called, and
// remembers what was acknowledged.
type appenders struct {
	mu      sync.Mutex
	acked   map[uint64]string
	tried   map[string]bool
	stopped chan struct{}
	wg      sync.WaitGroup
}

func startAppenders(t *testing.T, l *wal.Log, writers int) *appenders {
	a := &appenders{acked: map[uint64]string{}, tried: map[string]bool{}, stopped: make(chan struct{})}
	for w := range writers {
		a.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-a.stopped:
					return
				default:
				}
				rec := payload(w, i)
				a.mu.Lock()
				a.tried[string(rec)] = true
				a.mu.Unlock()
				seq, err := l.Append(rec)
				if errors.Is(err, wal.ErrClosed) || errors.Is(err, wal.ErrUnavailable) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				a.mu.Lock()
				a.acked[seq] = string(rec)
				a.mu.Unlock()
			}
		})
	}
	return a
}

func (a *appenders) stop() {
	close(a.stopped)
	a.wg.Wait()
}

// ackedSnapshot copies the acknowledged records.
func (a *appenders) ackedSnapshot() map[uint64]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[uint64]string, len(a.acked))
	for k, v := range a.acked {
		m[k] = v
	}
	return m
}

// waitDurable blocks until l.DurableSeq() >= seq.
func waitDurable(t *testing.T, l *wal.Log, seq uint64) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for l.DurableSeq() < seq {
		select {
		case <-l.Durable():
		case <-timeout:
			t.Fatalf("DurableSeq stuck at %d, want %d", l.DurableSeq(), seq)
		}
	}
}

// slowSyncs makes every fsync take a millisecond, as on a real disk, so that
// records acknowledged too early would have time to be caught unsynced.
func slowSyncs(fs vfs.FS) vfs.FS {
	return errorfs.Wrap(fs, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			time.Sleep(time.Millisecond)
		}
		return nil
	}))
}

func testCrash(t *testing.T, d wal.Durability, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x3e7e5d))
	fs := vfs.NewCrashableMem()
	l := mustOpen(t, slowSyncs(fs), wal.Options{Durability: d, SyncInterval: time.Millisecond})
	a := startAppenders(t, l, 16)
	waitDurable(t, l, 100+rng.Uint64N(400))

	durable := l.DurableSeq()
	before := a.ackedSnapshot()
	image := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
	a.stop()
	mustClose(t, l)

	l = mustOpen(t, image, wal.Options{})
	defer mustClose(t, l)
	got := readAll(t, l)
	if uint64(len(got)) != l.LastSeq() || l.FirstSeq() != 1 {
		t.Fatalf("read %d records, want FirstSeq..LastSeq = %d..%d", len(got), l.FirstSeq(), l.LastSeq())
	}
	lost := 0
	for seq, want := range before {
		rec, ok := got[seq]
		switch {
		case !ok && (d == wal.Sync || seq <= durable):
			t.Fatalf("seq %d acknowledged (durable %d) before the crash image, missing after it", seq, durable)
		case !ok:
			lost++
		case rec != want:
			t.Fatalf("seq %d: got %q, want %q", seq, rec, want)
		}
	}
	for seq, rec := range got {
		if !a.tried[rec] {
			t.Fatalf("seq %d holds %q, which no one appended", seq, rec)
		}
	}
	if seq, err := l.Append([]byte("after")); err != nil || seq != uint64(len(got))+1 {
		t.Fatalf("Append after recovery: got %d, %v; want %d", seq, err, len(got)+1)
	}
	t.Logf("acknowledged %d, durable %d, recovered %d, lost (acknowledged, not durable) %d", len(before), durable, len(got), lost)
}
