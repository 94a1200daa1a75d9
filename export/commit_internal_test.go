package export

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

func commitFixture(t *testing.T) (string, *DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := Open(Options{Path: path, Key: forgeKey, Level: Standard, AgentID: "agent-commit"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return path, db
}

func consumeAction(seq uint64, units int64) Action {
	return Action{WALSeq: seq, Time: time.Date(2026, 12, 1, 10, 0, int(seq), 0, time.UTC), Kind: Consume,
		Owner: "organizations/acme", Item: "PdfPro", LicenseID: "lic-1", Units: units}
}

// A write that fails inside its transaction (here: the counter would pass
// its bound) must end that transaction, so the agent's next write goes
// through; the error says what was wrong and nothing about the rollback.
func TestWriteAfterAFailedWriteSucceeds(t *testing.T) {
	t.Parallel()
	path, db := commitFixture(t)
	if _, err := db.Write([]Action{consumeAction(1, 5)}, 1); err != nil {
		t.Fatal(err)
	}
	_, err := db.Write([]Action{consumeAction(2, maxConsumed)}, 2)
	want := "export: write " + path + ": export: invalid action: license lic-1: license_consumed would pass 9007199254740991"
	if !errors.Is(err, ErrInvalidAction) || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if n, err := db.Write([]Action{consumeAction(2, 7)}, 2); n != 1 || err != nil {
		t.Fatalf("the next write: %d rows, %v; want 1 row", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Verify(path, forgeKey); err != nil || s.Units != 12 || s.Rows != 2 {
		t.Fatalf("verify: %+v, %v; want 2 rows, 12 units", s, err)
	}
}

// A caller that crashed after a Write sends the same actions and watermark
// again: nothing is left to write, so the resend must not need the write
// lock, and succeeds even while an operator's sqlite3 shell holds it.
func TestWriteOfWhatIsExportedTakesNoLock(t *testing.T) {
	t.Parallel()
	path, db := commitFixture(t)
	as := []Action{consumeAction(1, 5), consumeAction(3, 2)}
	if _, err := db.Write(as, 4); err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := sqlitex.ExecuteTransient(other, "BEGIN IMMEDIATE", nil); err != nil {
		t.Fatal(err)
	}
	defer sqlitex.ExecuteTransient(other, "ROLLBACK", nil)
	db.conn.SetBusyTimeout(time.Millisecond) // a write that wanted the lock fails at once
	if n, err := db.Write(as, 4); n != 0 || err != nil {
		t.Fatalf("the same write again, the lock held elsewhere: %d rows, %v; want 0 rows, no error", n, err)
	}
}

// A write of the watermark alone (WAL records without actions) starts no
// batch: batch numbers in the file go 1, 2, 3 without a gap, as Verify
// requires.
func TestWatermarkOnlyWriteStartsNoBatch(t *testing.T) {
	t.Parallel()
	path, db := commitFixture(t)
	if _, err := db.Write([]Action{consumeAction(1, 5)}, 1); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Write(nil, 10); n != 0 || err != nil {
		t.Fatalf("watermark-only write: %d rows, %v", n, err)
	}
	if _, err := db.Write([]Action{consumeAction(11, 2)}, 11); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(path, forgeKey); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// A meta row removed behind the agent's back (an operator's sqlite3 shell)
// must fail the write that would update it, leaving the file as it was,
// not commit a meta table that no longer verifies.
func TestWriteFailsWhenAMetaRowIsGone(t *testing.T) {
	t.Parallel()
	path, db := commitFixture(t)
	if _, err := db.Write([]Action{consumeAction(1, 5)}, 1); err != nil {
		t.Fatal(err)
	}
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := sqlitex.ExecuteTransient(conn, "DELETE FROM meta WHERE key = 'wal_seq'", nil); err != nil {
		t.Fatal(err)
	}
	_, err = db.Write([]Action{consumeAction(2, 7)}, 2)
	if err == nil || !strings.Contains(err.Error(), "meta row wal_seq missing") {
		t.Fatalf("got %v, want the missing meta row named", err)
	}
	var rows int64
	err = sqlitex.ExecuteTransient(conn, "SELECT count(*) FROM usage", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { rows = stmt.ColumnInt64(0); return nil }})
	if err != nil || rows != 1 || db.HeadSeq() != 1 || db.ExportedSeq() != 1 {
		t.Fatalf("after the failed write: %d rows (%v), head %d, watermark %d; want 1, 1, 1", rows, err, db.HeadSeq(), db.ExportedSeq())
	}
}

// A meta update that SQLite refuses (here a trigger an operator left on
// meta) fails the write with SQLite's reason, and the rows go with it.
func TestWriteReportsARefusedMetaUpdate(t *testing.T) {
	t.Parallel()
	path, db := commitFixture(t)
	if _, err := db.Write([]Action{consumeAction(1, 5)}, 1); err != nil {
		t.Fatal(err)
	}
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = sqlitex.ExecuteTransient(conn, "CREATE TRIGGER refuse BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'injected'); END", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Write([]Action{consumeAction(2, 7)}, 2)
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("got %v, want the trigger's refusal", err)
	}
	if db.HeadSeq() != 1 || db.ExportedSeq() != 1 || db.Consumed("lic-1") != 5 {
		t.Fatalf("after the refused write: head %d, watermark %d, counter %d; want 1, 1, 5", db.HeadSeq(), db.ExportedSeq(), db.Consumed("lic-1"))
	}
}

// A committed write must survive a power cut (doc.go): the connection
// writes with synchronous=FULL. (This SQLite build defaults to FULL in WAL
// mode as well, so the test guards a build or a PRAGMA that changes it.)
func TestOpenWritesWithSynchronousFull(t *testing.T) {
	t.Parallel()
	_, db := commitFixture(t)
	var mode int64 = -1
	err := sqlitex.ExecuteTransient(db.conn, "PRAGMA synchronous", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { mode = stmt.ColumnInt64(0); return nil }})
	if err != nil || mode != 2 {
		t.Fatalf("PRAGMA synchronous = %d, %v; want 2 (FULL)", mode, err)
	}
}
