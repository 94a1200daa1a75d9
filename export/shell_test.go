package export_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/export"
)

// TestStockShellReads opens exports in the stock sqlite3 shell, read-only,
// as a vendor without meterctl would.
func TestStockShellReads(t *testing.T) {
	t.Parallel()
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		t.Run("level="+level.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "usage.db")
			build(t, path, level, testKey(t), agentA, 30, 30)
			s := verified(t, path)
			before, _ := os.ReadFile(path)
			out := shell(t, path, "PRAGMA integrity_check; SELECT count(*) FROM usage; SELECT value FROM meta WHERE key = 'head_seq';", "-readonly")
			if want := fmt.Sprintf("ok\n%d\n%d\n", s.Rows, s.Rows); out != want {
				t.Fatalf("sqlite3 said %q, want %q", out, want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) || len(files(t, dir)) != 1 {
				t.Fatalf("the shell changed the file or left %v", files(t, dir))
			}
		})
	}
}
