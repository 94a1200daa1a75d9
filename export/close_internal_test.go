package export

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// Close must not report success when the file it leaves behind is not the
// self-contained DELETE-journal file the customer sends: another process
// that has the file open (an operator's sqlite3 shell) can stop either step.

// closeFixture opens a database with one row and a second connection to it
// that has read it, as a shell would.
func closeFixture(t *testing.T) (*DB, *sqlite.Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := Open(Options{Path: path, Key: forgeKey, Level: Standard, AgentID: "agent-close"})
	if err != nil {
		t.Fatal(err)
	}
	a := Action{WALSeq: 1, Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Kind: Consume,
		Owner: "organizations/acme", Item: "PdfPro", LicenseID: "lic-1", Units: 3}
	if _, err := db.Write([]Action{a}, 1); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.OpenConn(path, sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := sqlitex.ExecuteTransient(other, "SELECT count(*) FROM usage", nil); err != nil {
		t.Fatal(err)
	}
	// The checkpoint waits for readers as long as the busy timeout allows;
	// the reader below never lets go, so waiting the full 5 s proves nothing.
	db.conn.SetBusyTimeout(time.Millisecond)
	return db, other
}

// A reader inside a transaction keeps the WAL from being checkpointed into
// the file: Close must say so, or the customer sends a file without its
// last rows.
func TestCloseFailsWhenAReaderBlocksTheCheckpoint(t *testing.T) {
	t.Parallel()
	db, other := closeFixture(t)
	if err := sqlitex.ExecuteTransient(other, "BEGIN", nil); err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.ExecuteTransient(other, "SELECT count(*) FROM usage", nil); err != nil {
		t.Fatal(err)
	}
	err := db.Close()
	if err == nil || !strings.Contains(err.Error(), "checkpoint blocked by another reader") {
		t.Fatalf("Close with a reader in a transaction: got %v, want the checkpoint blocked by another reader", err)
	}
}

// Another open connection keeps the journal in WAL mode: Close must fail
// with SQLite's reason (the file is locked), since the file is not yet one
// the stock shell opens read-only.
func TestCloseFailsWhenAnotherConnectionKeepsWALMode(t *testing.T) {
	t.Parallel()
	db, _ := closeFixture(t)
	err := db.Close()
	if err == nil || sqlite.ErrCode(err).ToPrimary() != sqlite.ResultBusy {
		t.Fatalf("Close with another connection open: got %v (code %v), want SQLITE_BUSY from the switch to DELETE", err, sqlite.ErrCode(err))
	}
}
