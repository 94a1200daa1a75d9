package wal_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/meterd/meterd/wal"
)

// failingSyncs fails every fsync of a Pebble WAL file while on is set.
func failingSyncs(fs vfs.FS, on *atomic.Bool) vfs.FS {
	return errorfs.Wrap(fs, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			if on.Load() && strings.HasSuffix(op.Path, ".log") {
				return errorfs.ErrInjected
			}
		}
		return nil
	}))
}

// isUnavailable reports whether err is the sticky failure caused by the
// injected fsync error.
func isUnavailable(err error) bool {
	return errors.Is(err, wal.ErrUnavailable) && errors.Is(err, errorfs.ErrInjected)
}

func TestSyncFailure(t *testing.T) {
	mem := vfs.NewMem()
	var on atomic.Bool
	l := mustOpen(t, failingSyncs(mem, &on), wal.Options{})

	var mu sync.Mutex
	acked := map[uint64]string{}
	var ackedAfter, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				after := on.Load()
				seq, err := l.Append(payload(w, i))
				switch {
				case err == nil && after:
					ackedAfter.Add(1)
				case err == nil:
					mu.Lock()
					acked[seq] = string(payload(w, i))
					mu.Unlock()
				case isUnavailable(err):
					failed.Add(1)
				default:
					t.Errorf("Append: got %v, want ErrUnavailable wrapping ErrInjected", err)
					return
				}
			}
		})
	}
	waitDurable(t, l, 200)
	var durable uint64
	on.Store(true)

	_, err := l.Append([]byte("after the failure"))
	if !isUnavailable(err) {
		t.Fatalf("Append after the failure: got %v, want ErrUnavailable wrapping ErrInjected", err)
	}
	if err := l.Err(); !isUnavailable(err) {
		t.Fatalf("Err: got %v, want ErrUnavailable wrapping ErrInjected", err)
	}
	last := l.LastSeq()
	if _, err := l.Append([]byte("fail fast")); !isUnavailable(err) || l.LastSeq() != last {
		t.Fatalf("Append on a failed log: got %v and LastSeq %d -> %d, want the sticky error without a write", err, last, l.LastSeq())
	}
	close(stop)
	wg.Wait()
	if n := ackedAfter.Load(); n != 0 {
		t.Fatalf("%d Appends started after the failure were acknowledged", n)
	}
	// Sync mode: durable means acknowledged, and the other way round.
	durable = l.DurableSeq()
	for seq := uint64(1); seq <= durable; seq++ {
		if _, ok := acked[seq]; !ok {
			t.Fatalf("seq %d <= DurableSeq %d was not acknowledged", seq, durable)
		}
	}
	if uint64(len(acked)) != durable {
		t.Fatalf("acknowledged %d records, DurableSeq %d", len(acked), durable)
	}
	if err := closeWithin(t, l, 10*time.Second); !errors.Is(err, wal.ErrUnavailable) {
		t.Fatalf("Close: got %v, want ErrUnavailable", err)
	}

	// What a restart finds: every acknowledged record; records of failed
	// groups may be back, because their data reached the OS even though the
	// fsync failed.
	on.Store(false)
	l = mustOpen(t, mem, wal.Options{})
	defer mustClose(t, l)
	got := readAll(t, l)
	for seq, want := range acked {
		if got[seq] != want {
			t.Fatalf("acknowledged seq %d: got %q, want %q", seq, got[seq], want)
		}
	}
	t.Logf("acknowledged %d, failed %d, durable %d, after restart LastSeq %d", len(acked), failed.Load(), durable, l.LastSeq())
}

func TestSyncFailureAsync(t *testing.T) {
	var on atomic.Bool
	l := mustOpen(t, failingSyncs(vfs.NewMem(), &on), wal.Options{Durability: wal.Async, SyncInterval: time.Millisecond})
	seq, err := l.Append([]byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	waitDurable(t, l, seq)
	on.Store(true)
	// Async Appends are acknowledged before their fsync, so they succeed
	// until the failed fsync has been seen; from then on they fail fast.
	deadline := time.Now().Add(10 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = l.Append([]byte("x"))
	}
	if !isUnavailable(err) || !isUnavailable(l.Err()) {
		t.Fatalf("Append: got %v, Err %v; want ErrUnavailable wrapping ErrInjected", err, l.Err())
	}
	if l.DurableSeq() != seq {
		t.Fatalf("DurableSeq: got %d, want %d", l.DurableSeq(), seq)
	}
	last := l.LastSeq()
	if _, err := l.AppendBatch([][]byte{[]byte("y")}); !isUnavailable(err) || l.LastSeq() != last {
		t.Fatalf("AppendBatch on a failed log: got %v, LastSeq %d -> %d", err, last, l.LastSeq())
	}
	if err := closeWithin(t, l, 10*time.Second); !errors.Is(err, wal.ErrUnavailable) {
		t.Fatalf("Close: got %v, want ErrUnavailable", err)
	}
}

// closeWithin closes l, failing the test if that takes longer than d.
func closeWithin(t *testing.T, l *wal.Log, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("Close hangs after the failure")
		return nil
	}
}

// A write to Pebble's WAL file that fails (not its fsync) in Async mode, where no Append waits
// for the disk: the log learns of it from the file itself, fails sticky, and says why.
func TestWriteFailureAsync(t *testing.T) {
	var on atomic.Bool
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpFileWrite && on.Load() && strings.HasSuffix(op.Path, ".log") {
			return errorfs.ErrInjected
		}
		return nil
	}))
	l := mustOpen(t, fs, wal.Options{Durability: wal.Async})
	appendN(t, l, 10)
	on.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for l.Err() == nil {
		if _, err := l.Append([]byte("after the failure")); err != nil && !isUnavailable(err) {
			t.Fatalf("Append: got %v, want nil or ErrUnavailable wrapping ErrInjected", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the log did not notice its failing WAL writes within 10 s")
		}
	}
	if err := l.Err(); !isUnavailable(err) {
		t.Fatalf("Err: got %v, want ErrUnavailable wrapping ErrInjected", err)
	}
	closeWithin(t, l, 10*time.Second)
}
