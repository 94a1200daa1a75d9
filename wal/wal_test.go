package wal_test

import (
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

func TestAppend(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		fs := vfs.NewMem()
		l := mustOpen(t, fs, wal.Options{})
		for i := 1; i <= 100; i++ {
			seq, err := l.Append(payload(0, i))
			if err != nil || seq != uint64(i) {
				t.Fatalf("Append %d: got seq %d, err %v", i, seq, err)
			}
		}
		if got, want := l.DurableSeq(), uint64(100); got != want {
			t.Fatalf("DurableSeq: got %d, want %d", got, want)
		}
		mustClose(t, l)

		l = mustOpen(t, fs, wal.Options{})
		defer mustClose(t, l)
		if l.FirstSeq() != 1 || l.LastSeq() != 100 || l.DurableSeq() != 100 {
			t.Fatalf("after reopen: first %d last %d durable %d, want 1 100 100", l.FirstSeq(), l.LastSeq(), l.DurableSeq())
		}
		want := uint64(1)
		err := l.Records(1, 100, func(seq uint64, rec []byte) error {
			if seq != want || string(rec) != string(payload(0, int(seq))) {
				t.Fatalf("record: got %d %q, want %d %q", seq, rec, want, payload(0, int(want)))
			}
			want++
			return nil
		})
		if err != nil || want != 101 {
			t.Fatalf("Records: err %v, next %d", err, want)
		}
		if seq, err := l.Append([]byte("next")); err != nil || seq != 101 {
			t.Fatalf("Append after reopen: got %d, %v; want 101", seq, err)
		}
	})
	t.Run("CallerReusesBuffer", func(t *testing.T) {
		l := mustOpen(t, vfs.NewMem(), wal.Options{})
		defer mustClose(t, l)
		buf := []byte("aaaa")
		if _, err := l.Append(buf); err != nil {
			t.Fatal(err)
		}
		copy(buf, "bbbb")
		if got := readAll(t, l)[1]; got != "aaaa" {
			t.Fatalf("got %q, want %q", got, "aaaa")
		}
	})
	t.Run("Empty", func(t *testing.T) {
		l := mustOpen(t, vfs.NewMem(), wal.Options{})
		defer mustClose(t, l)
		if _, err := l.Append(nil); err != nil {
			t.Fatal(err)
		}
		if got, ok := readAll(t, l)[1]; !ok || got != "" {
			t.Fatalf("got %q %v, want empty record", got, ok)
		}
	})
}

func TestAppendBatch(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), wal.Options{})
	defer mustClose(t, l)
	f := func(n int, wantFirst uint64) {
		t.Helper()
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = payload(n, i)
		}
		first, err := l.AppendBatch(recs)
		if err != nil || first != wantFirst {
			t.Fatalf("AppendBatch(%d): got %d, %v; want %d", n, first, err, wantFirst)
		}
		got := readAll(t, l)
		for i := range recs {
			if got[first+uint64(i)] != string(recs[i]) {
				t.Fatalf("seq %d: got %q, want %q", first+uint64(i), got[first+uint64(i)], recs[i])
			}
		}
	}
	f(1, 1)
	f(3, 2)
	f(0, 0)
	f(5000, 5) // over maxGroupBytes: still one group
	f(2, 5005)
}

func TestConcurrentAppend(t *testing.T) {
	for _, d := range []wal.Durability{wal.Sync, wal.Async} {
		t.Run("durability="+d.String(), func(t *testing.T) {
			fs := vfs.NewMem()
			l := mustOpen(t, fs, wal.Options{Durability: d})
			const writers, each = 64, 50
			var mu sync.Mutex
			acked := map[uint64]string{}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						rec := payload(w, i)
						seq, err := l.Append(rec)
						if err != nil {
							t.Errorf("Append: %v", err)
							return
						}
						mu.Lock()
						if _, dup := acked[seq]; dup {
							t.Errorf("seq %d handed out twice", seq)
						}
						acked[seq] = string(rec)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if got, want := len(acked), writers*each; got != want {
				t.Fatalf("acked %d, want %d", got, want)
			}
			mustClose(t, l)
			l = mustOpen(t, fs, wal.Options{})
			defer mustClose(t, l)
			got := readAll(t, l)
			if len(got) != len(acked) || l.LastSeq() != uint64(len(acked)) {
				t.Fatalf("read %d records, last %d; want %d", len(got), l.LastSeq(), len(acked))
			}
			for seq, rec := range acked {
				if got[seq] != rec {
					t.Fatalf("seq %d: got %q, want %q", seq, got[seq], rec)
				}
			}
		})
	}
}

func TestDurable(t *testing.T) {
	for _, d := range []wal.Durability{wal.Sync, wal.Async} {
		t.Run("durability="+d.String(), func(t *testing.T) {
			var mu sync.Mutex
			committed := 0
			var took time.Duration
			start := time.Now()
			l := mustOpen(t, vfs.NewMem(), wal.Options{Durability: d, OnCommit: func(n int, d time.Duration) {
				mu.Lock()
				committed += n
				took = max(took, d)
				mu.Unlock()
			}})
			defer mustClose(t, l)
			seq, err := l.Append([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			for l.DurableSeq() < seq {
				<-l.Durable()
			}
			if got := l.LastSeq(); got != seq {
				t.Fatalf("LastSeq: got %d, want %d", got, seq)
			}
			mu.Lock()
			defer mu.Unlock()
			if committed != 1 {
				t.Fatalf("OnCommit counted %d records, want 1", committed)
			}
			// Not a timing bound: a commit cannot take longer than the test has run.
			if elapsed := time.Since(start); took < 0 || took > elapsed {
				t.Fatalf("OnCommit reported a commit of %v in a test %v old", took, elapsed)
			}
		})
	}
}

func TestClose(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), wal.Options{})
	if _, err := l.Append([]byte("x")); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	f := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, wal.ErrClosed) {
			t.Fatalf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
	_, err := l.Append([]byte("y"))
	f("Append", err)
	_, err = l.AppendBatch([][]byte{[]byte("y")})
	f("AppendBatch", err)
	f("Records", l.Records(1, math.MaxUint64, func(uint64, []byte) error { return nil }))
	f("State", l.State(func(_, _ []byte) error { return nil }))
	f("Truncate", l.Truncate(1))
	f("Checkpoint.Commit", l.NewCheckpoint(1).Commit())
	f("Close", l.Close())
	if l.LastSeq() != 1 || l.Err() != nil {
		t.Fatalf("after Close: LastSeq %d Err %v, want 1 <nil>", l.LastSeq(), l.Err())
	}
}

func TestCloseWaitsForAppends(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, wal.Options{Durability: wal.Async, SyncInterval: time.Hour})
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[uint64]bool{}
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				seq, err := l.Append(payload(w, i))
				if errors.Is(err, wal.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				acked[seq] = true
				mu.Unlock()
			}
		})
	}
	for l.LastSeq() < 200 {
		runtime.Gosched()
	}
	mustClose(t, l)
	wg.Wait()
	l = mustOpen(t, fs, wal.Options{})
	defer mustClose(t, l)
	got := readAll(t, l)
	for seq := range acked {
		if _, ok := got[seq]; !ok {
			t.Fatalf("acknowledged seq %d lost by Close", seq)
		}
	}
}

// TestAppendAllocs keeps the steady state free of per-Append allocations:
// groups and their Pebble batches are recycled.
func TestAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, d := range []wal.Durability{wal.Sync, wal.Async} {
		l := mustOpen(t, vfs.NewMem(), wal.Options{Durability: d})
		rec := make([]byte, 120)
		for range 1000 { // warm the pools
			if _, err := l.Append(rec); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := l.Append(rec); err != nil {
				t.Fatal(err)
			}
		})
		mustClose(t, l)
		t.Logf("durability=%s: %.3f allocs per Append", d, allocs)
		if allocs > 0.5 {
			t.Fatalf("durability=%s: %.2f allocs per Append, want ~0", d, allocs)
		}
	}
}

// TestAsyncBacklog appends faster than the delayed fsyncs drain: Appends must
// not wait for an fsync, and the records past the cap on outstanding sync
// requests still become durable.
func TestAsyncBacklog(t *testing.T) {
	t.Run("LongInterval", func(t *testing.T) {
		fs := vfs.NewMem()
		l := mustOpen(t, fs, wal.Options{Durability: wal.Async, SyncInterval: time.Hour})
		last := appendN(t, l, 3000) // would block for an hour if Appends waited for fsyncs
		// A checkpoint waiting an hour for its fsync must not hold up Close,
		// which ends that wait by closing Pebble.
		committed := make(chan error, 1)
		go func() { committed <- l.NewCheckpoint(0).Commit() }()
		if err := closeWithin(t, l, 10*time.Second); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-committed; err != nil && !errors.Is(err, wal.ErrClosed) {
			t.Fatalf("Checkpoint.Commit during Close: %v", err)
		}
		l = mustOpen(t, fs, wal.Options{})
		defer mustClose(t, l)
		if l.LastSeq() != last {
			t.Fatalf("LastSeq after reopen: got %d, want %d", l.LastSeq(), last)
		}
	})
	t.Run("TailBecomesDurable", func(t *testing.T) {
		l := mustOpen(t, vfs.NewMem(), wal.Options{Durability: wal.Async, SyncInterval: 200 * time.Millisecond})
		defer mustClose(t, l)
		last := appendN(t, l, 3000)
		waitDurable(t, l, last)
	})
}
