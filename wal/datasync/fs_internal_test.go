package datasync

import (
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// FS wraps the files match accepts and syncs them; the others are fs's own.
func TestFSWrapsMatchingFiles(t *testing.T) {
	fs := FS(vfs.Default, func(name string) bool { return filepath.Ext(name) == ".log" })
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		wrapped bool
	}{{"000001.log", true}, {"000002.sst", false}} {
		f, err := fs.Create(filepath.Join(dir, tc.name), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.(file); ok != tc.wrapped {
			t.Errorf("%s: wrapped %v, want %v", tc.name, ok, tc.wrapped)
		}
		if _, err := f.Write([]byte("record")); err != nil {
			t.Fatal(err)
		}
		if err := f.SyncData(); err != nil {
			t.Errorf("%s: SyncData: %v", tc.name, err)
		}
		if err := f.Sync(); err != nil {
			t.Errorf("%s: Sync: %v", tc.name, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
