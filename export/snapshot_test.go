package export_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/meterd/meterd/export"
)

// Snapshots of a database the agent is writing to each verify on their own and hold a whole
// write or none of it, and the file is self-contained: DELETE journal, nothing beside it.
func TestSnapshotLive(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "usage.db")
	db := openDB(t, src, export.Detailed, key, agentA)
	defer db.Close()
	as := actions(1, 400)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < len(as); i += 10 {
			if _, err := db.Write(as[i:i+10], as[i+9].WALSeq); err != nil {
				t.Error(err)
				return
			}
		}
	})
	out := t.TempDir()
	for i := range 20 {
		dst := filepath.Join(out, "snap-"+string(rune('a'+i))+".db")
		if err := export.Snapshot(src, dst); err != nil {
			t.Fatal(err)
		}
		s, err := export.Verify(dst, key)
		if err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		if s.Rows%10 != 0 {
			t.Fatalf("snapshot %d holds %d rows: part of a write", i, s.Rows)
		}
		if hdr := readHeaderByte(t, dst, 18); hdr != 1 {
			t.Fatalf("snapshot %d: journal format byte %d, want 1 (DELETE)", i, hdr)
		}
	}
	wg.Wait()
	final := filepath.Join(out, "final.db")
	if err := export.Snapshot(src, final); err != nil {
		t.Fatal(err)
	}
	if s, err := export.Verify(final, key); err != nil || s.Rows != 400 {
		t.Fatalf("final snapshot: %+v, %v; want 400 rows", s, err)
	}
	for _, name := range files(t, out) {
		if filepath.Ext(name) != ".db" {
			t.Fatalf("snapshot left %s behind", name)
		}
	}
	// Never over an existing file.
	before, _ := os.ReadFile(final)
	if err := export.Snapshot(src, final); !errors.Is(err, export.ErrExists) {
		t.Fatalf("over an existing file: got %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(final); string(after) != string(before) {
		t.Fatal("a refused snapshot changed the existing file")
	}
}

func TestSnapshotNotUsageDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "notes.db")
	execSQLCreate(t, src, "CREATE TABLE notes(body TEXT)")
	dst := filepath.Join(dir, "out.db")
	if err := export.Snapshot(src, dst); !errors.Is(err, export.ErrNotUsageDB) {
		t.Fatalf("got %v, want ErrNotUsageDB", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed snapshot left %s", dst)
	}
}

func readHeaderByte(t *testing.T, path string, off int) byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) <= off {
		t.Fatalf("read %s: %v", path, err)
	}
	return b[off]
}
