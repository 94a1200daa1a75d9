package export_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"zombiezen.com/go/sqlite"

	"github.com/meterd/meterd/export"
)

// A file at the usage database's path that is not SQLite at all must be
// refused with SQLite's own reason, so the operator learns the path points
// at the wrong file rather than at a database in the wrong journal mode.
func TestOpenRefusesANonDatabaseWithSQLitesReason(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("owner,item,units\n"), 300), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := export.Open(export.Options{Path: path, Key: testKey(t), AgentID: agentA})
	if sqlite.ErrCode(err).ToPrimary() != sqlite.ResultNotADB {
		t.Fatalf("got %v (code %v), want SQLITE_NOTADB", err, sqlite.ErrCode(err))
	}
}

// The agent restarts after its first write: a file of exactly one row, whose
// head chains straight from the chain start, must reopen and go on.
func TestReopenAfterExactlyOneRow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	as := actions(1, 2)
	build(t, path, export.Detailed, testKey(t), agentA, 1)
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Detailed, AgentID: agentA})
	if err != nil {
		t.Fatalf("reopen with one row: %v", err)
	}
	defer db.Close()
	if db.HeadSeq() != 1 {
		t.Fatalf("head %d, want 1", db.HeadSeq())
	}
	if _, err := db.Write(as[1:], as[1].WALSeq); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := export.Verify(path, testKey(t)); err != nil || s.Rows != 2 {
		t.Fatalf("verify: %+v, %v; want 2 rows", s, err)
	}
}

// meta_mac covers meta's rows sorted by key, not the order SQLite stores
// them in: a file whose meta_mac row comes first (a copy rebuilt by a tool)
// still verifies and opens.
func TestMetaRowOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	build(t, path, export.Standard, testKey(t), agentA, 5)
	execSQL(t, path, "UPDATE meta SET rowid = -1 WHERE key = 'meta_mac'")
	if first := queryStrings(t, path, "SELECT key FROM meta ORDER BY rowid")[0]; first != "meta_mac" {
		t.Fatalf("meta's first row is %s, want meta_mac", first)
	}
	if _, err := export.Verify(path, testKey(t)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Standard, AgentID: agentA})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	db.Close()
}
