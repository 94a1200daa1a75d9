package wal_test

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

// dirSize returns the bytes of the files under dir.
func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // Pebble deleted it meanwhile
		}
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDiskBounded appends, checkpoints and truncates in a loop on a real
// directory. Pebble frees the truncated records' WAL files per flushed
// memtable (keeping a few for reuse), so the directory stays at a constant
// floor (~13 MiB measured, ~18 MiB by construction: see options.go) however
// much is appended; without Truncate the same loop leaves ~53 MiB.
func TestDiskBounded(t *testing.T) {
	const (
		records, size, batch = 200_000, 200, 1000
		bound                = 24 << 20
	)
	dir := t.TempDir()
	l, err := wal.Open(dir, wal.Options{FS: vfs.Default})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{})
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = make([]byte, size)
	}
	for n := 0; n < records; n += batch {
		for _, r := range recs {
			_, _ = rng.Read(r) // incompressible: the worst case
		}
		first, err := l.AppendBatch(recs)
		if err != nil {
			t.Fatal(err)
		}
		last := first + batch - 1
		ck := l.NewCheckpoint(last)
		ck.Set([]byte("seq"), []byte{byte(last)})
		if err := ck.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := l.Truncate(last); err != nil {
			t.Fatal(err)
		}
		if got := dirSize(t, dir); got > bound {
			t.Fatalf("after %d records: directory holds %d bytes, want <= %d", n+batch, got, bound)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dirSize(t, dir); got > bound {
		t.Fatalf("after Close: directory holds %d bytes, want <= %d", got, bound)
	}
}
