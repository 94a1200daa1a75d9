package export_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// A write that fails part way (here a trigger aborts its fifth row) rolls back whole: the file
// and the DB's own chain state stay as they were, Writable reports the failure, and the same
// write succeeds once the cause is gone, with the chain intact.
func TestWriteRollsBack(t *testing.T) {
	t.Parallel()
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		t.Run("level="+level.String(), func(t *testing.T) {
			key := testKey(t)
			path := filepath.Join(t.TempDir(), "usage.db")
			db := openDB(t, path, level, key, agentA)
			defer db.Close()
			as := actions(1, 40)
			if _, err := db.Write(as[:20], as[19].WALSeq); err != nil {
				t.Fatal(err)
			}
			head, walSeq, consumed := db.HeadSeq(), db.ExportedSeq(), db.Consumed(as[0].LicenseID)
			rows := queryStrings(t, path, "SELECT count(*) FROM usage")[0]
			execSQL(t, path, "CREATE TRIGGER fail BEFORE INSERT ON usage WHEN NEW.seq > "+
				strings.TrimSpace(rows)+" + 4 BEGIN SELECT RAISE(ABORT, 'injected'); END")

			if _, err := db.Write(as[20:], as[39].WALSeq); err == nil || !strings.Contains(err.Error(), "injected") {
				t.Fatalf("write through the trigger: %v, want the injected failure", err)
			}
			if db.HeadSeq() != head || db.ExportedSeq() != walSeq || db.Consumed(as[0].LicenseID) != consumed {
				t.Fatalf("after a failed write: head %d, watermark %d, counter %d; want %d, %d, %d unchanged",
					db.HeadSeq(), db.ExportedSeq(), db.Consumed(as[0].LicenseID), head, walSeq, consumed)
			}
			if got := queryStrings(t, path, "SELECT count(*) FROM usage")[0]; got != rows {
				t.Fatalf("%s rows in the file after a failed write, want %s", got, rows)
			}
			if err := db.Writable(); err == nil {
				t.Fatal("Writable: nil after a failed write")
			}

			execSQL(t, path, "DROP TRIGGER fail")
			if _, err := db.Write(as[20:], as[39].WALSeq); err != nil {
				t.Fatal(err)
			}
			if err := db.Writable(); err != nil {
				t.Fatalf("Writable after a good write: %v", err)
			}
			db.Close()
			if s, err := export.Verify(path, key); err != nil || s.Units != billable(as) {
				t.Fatalf("verify: %+v, %v; want %d units", s, err, billable(as))
			}
		})
	}
}
