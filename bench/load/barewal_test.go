package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/meterd/meterd/wal"
)

// TestTimedFSRecycle: with recycle off, ReuseForWrite leaves no trace of the old file and
// hands back an empty new one; with it on, the old file's bytes are reused (Pebble's own
// behaviour). Syncs of .log files are timed, others are not.
func TestTimedFSRecycle(t *testing.T) {
	for _, recycle := range []bool{true, false} {
		dir := t.TempDir()
		fs := newTimedFS(recycle, wal.Sync)
		old := filepath.Join(dir, "000001.log")
		if err := os.WriteFile(old, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := fs.ReuseForWrite(old, filepath.Join(dir, "000002.log"), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if _, err := os.Stat(old); !os.IsNotExist(err) {
			t.Fatalf("recycle %v: the old file is still there (%v)", recycle, err)
		}
		if want := map[bool]int64{true: 4096, false: 0}[recycle]; st.Size() != want {
			t.Fatalf("recycle %v: the new file has %d bytes, want %d", recycle, st.Size(), want)
		}
		other, err := fs.Create(filepath.Join(dir, "MANIFEST-000001"), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Sync(); err != nil {
			t.Fatal(err)
		}
		other.Close()
		if n := fs.syncs.h.total; n != 1 {
			t.Fatalf("recycle %v: %d syncs timed, want the WAL file's one", recycle, n)
		}
	}
}

// TestBareWALLogsEveryAnswer: every request row (i) answers has its record in the log, and
// the log's fdatasyncs were timed, in both modes.
func TestBareWALLogsEveryAnswer(t *testing.T) {
	for _, d := range []wal.Durability{wal.Async, wal.Sync} {
		b, err := startBareWAL(d, false)
		if err != nil {
			t.Fatal(err)
		}
		const requests = 50
		for range requests {
			resp, err := http.Post(b.base+"/v1/consume", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%v: status %d", d, resp.StatusCode)
			}
		}
		if got := b.log.LastSeq(); got != requests {
			t.Fatalf("%v: %d records for %d answers", d, got, requests)
		}
		if err := b.log.Sync(); err != nil {
			t.Fatal(err)
		}
		if b.fs.syncs.h.total == 0 {
			t.Fatalf("%v: no fdatasync timed", d)
		}
		if err := b.stop(nil); err != nil {
			t.Fatal(err)
		}
	}
}
