package wal_test

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

// appendN appends n records and returns the last seq.
func appendN(t testing.TB, l *wal.Log, n int) uint64 {
	t.Helper()
	var seq uint64
	for i := range n {
		var err error
		if seq, err = l.Append(payload(0, i)); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	return seq
}

// state returns the state keys as "k=v" joined by spaces.
func state(t testing.TB, l *wal.Log) string {
	t.Helper()
	var kv []string
	err := l.State(func(k, v []byte) error {
		kv = append(kv, string(k)+"="+string(v))
		return nil
	})
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return strings.Join(kv, " ")
}

func commit(t testing.TB, l *wal.Log, seq uint64, kv ...string) {
	t.Helper()
	ck := l.NewCheckpoint(seq)
	for _, s := range kv {
		if k, ok := strings.CutPrefix(s, "-"); ok {
			ck.Delete([]byte(k))
			continue
		}
		k, v, _ := strings.Cut(s, "=")
		ck.Set([]byte(k), []byte(v))
	}
	if err := ck.Commit(); err != nil {
		t.Fatalf("Checkpoint(%d).Commit: %v", seq, err)
	}
}

func TestCheckpoint(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, wal.Options{})
	appendN(t, l, 10)
	if got := state(t, l); got != "" || l.CheckpointSeq() != 0 {
		t.Fatalf("fresh log: state %q, checkpoint %d", got, l.CheckpointSeq())
	}
	commit(t, l, 5, "a=1", "b=2", "=empty key", "bin\x00ary=3")
	commit(t, l, 8, "-a", "c=4", "b=5")
	if got, want := state(t, l), "=empty key b=5 bin\x00ary=3 c=4"; got != want {
		t.Fatalf("state: got %q, want %q", got, want)
	}
	mustClose(t, l)

	l = mustOpen(t, fs, wal.Options{})
	defer mustClose(t, l)
	if got, want := state(t, l), "=empty key b=5 bin\x00ary=3 c=4"; got != want || l.CheckpointSeq() != 8 {
		t.Fatalf("after reopen: state %q, checkpoint %d; want %q, 8", got, l.CheckpointSeq(), want)
	}
	f := func(seq uint64) {
		t.Helper()
		if err := l.NewCheckpoint(seq).Commit(); err == nil {
			t.Fatalf("Checkpoint(%d) with checkpoint 8, durable 10: got nil error", seq)
		}
	}
	f(7)
	f(11)
	ck := l.NewCheckpoint(10)
	if err := ck.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := ck.Commit(); err == nil {
		t.Fatalf("second Commit: got nil error")
	}
}

func TestTruncate(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, wal.Options{})
	appendN(t, l, 20)
	if err := l.Truncate(1); err == nil {
		t.Fatalf("Truncate beyond the checkpoint: got nil error")
	}
	commit(t, l, 12)
	if err := l.Truncate(7); err != nil {
		t.Fatal(err)
	}
	if err := l.Truncate(3); err != nil {
		t.Fatalf("Truncate below the mark: %v", err)
	}
	check := func(first, last uint64) {
		t.Helper()
		if l.FirstSeq() != first || l.LastSeq() != last {
			t.Fatalf("FirstSeq %d LastSeq %d, want %d %d", l.FirstSeq(), l.LastSeq(), first, last)
		}
		got := readAll(t, l)
		if uint64(len(got)) != last-first+1 {
			t.Fatalf("read %d records, want %d", len(got), last-first+1)
		}
		err := l.Records(first-1, last, func(uint64, []byte) error { return nil })
		if first > 1 && !errors.Is(err, wal.ErrTruncated) {
			t.Fatalf("Records from %d: got %v, want ErrTruncated", first-1, err)
		}
	}
	check(8, 20)
	if err := l.Truncate(8); err != nil { // exactly the first record
		t.Fatal(err)
	}
	check(9, 20)
	mustClose(t, l)

	l = mustOpen(t, fs, wal.Options{})
	check(9, 20)
	// Everything: the log is empty, and seqs go on.
	commit(t, l, 20)
	if err := l.Truncate(20); err != nil {
		t.Fatal(err)
	}
	check(21, 20)
	mustClose(t, l)
	l = mustOpen(t, fs, wal.Options{})
	defer mustClose(t, l)
	check(21, 20)
	if seq, err := l.Append([]byte("x")); err != nil || seq != 21 {
		t.Fatalf("Append after truncating everything: got %d, %v; want 21", seq, err)
	}
	check(21, 21)
}

func TestRecordsRange(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), wal.Options{})
	defer mustClose(t, l)
	appendN(t, l, 10)
	f := func(from, to uint64, want string) {
		t.Helper()
		var got []string
		err := l.Records(from, to, func(seq uint64, _ []byte) error {
			got = append(got, strconv.FormatUint(seq, 10))
			return nil
		})
		if err != nil || strings.Join(got, ",") != want {
			t.Fatalf("Records(%d, %d): got %v, %v; want %s", from, to, got, err, want)
		}
	}
	f(0, 3, "1,2,3")
	f(4, 4, "4")
	f(9, math.MaxUint64, "9,10")
	f(5, 4, "")
	f(11, 20, "")
	stop := errors.New("stop")
	n := 0
	err := l.Records(1, 10, func(uint64, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("Records with a failing fn: got %v after %d calls, want stop after 1", err, n)
	}
}
