package export_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Standard, key, agentA)
	as := actions(1, 10)
	if _, err := db.Write(as, 20); err != nil {
		t.Fatal(err)
	}
	lic := as[0]
	have := db.Consumed(lic.LicenseID)
	if have == 0 {
		t.Fatal("the fixture consumed nothing on its first license")
	}
	bal := func(id string, n int64) export.Balance {
		return export.Balance{LicenseID: id, Owner: "users/x", Item: "X", Consumed: n}
	}
	at := as[len(as)-1].Time.Add(time.Hour)

	// In agreement: nothing to write.
	if rows, err := db.Reconcile([]export.Balance{bal(lic.LicenseID, have)}, at); rows != 0 || err != nil {
		t.Fatalf("balanced: %d rows, %v; want none", rows, err)
	}
	// The file ahead of the agent: refused, nothing written.
	head := db.HeadSeq()
	_, err := db.Reconcile([]export.Balance{bal("lic-new", 4), bal(lic.LicenseID, have-1)}, at)
	if !errors.Is(err, export.ErrAhead) || db.HeadSeq() != head || db.Consumed("lic-new") != 0 {
		t.Fatalf("behind: got %v, head %d (was %d); want ErrAhead and nothing written", err, db.HeadSeq(), head)
	}
	// Two licenses behind: one row each, by license id, the watermark kept.
	rows, err := db.Reconcile([]export.Balance{bal(lic.LicenseID, have+30), bal("lic-new", 4)}, at)
	if err != nil || rows != 2 || db.ExportedSeq() != 20 {
		t.Fatalf("got %d rows, %v, watermark %d; want 2 rows, watermark 20", rows, err, db.ExportedSeq())
	}
	if db.Consumed(lic.LicenseID) != have+30 || db.Consumed("lic-new") != 4 {
		t.Fatalf("counters %d and %d after reconcile", db.Consumed(lic.LicenseID), db.Consumed("lic-new"))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := export.Verify(path, key)
	if err != nil || len(s.Gaps) != 2 || s.Units != billable(as)+34 {
		t.Fatalf("verify: %+v, %v; want 2 gaps and %d units", s, err, billable(as)+34)
	}
	g := s.Gaps[1] // lic-new sorts after lic-acme-…
	if g.LicenseID != "lic-new" || g.Units != 4 || !g.Since.IsZero() || !g.Until.Equal(at) {
		t.Fatalf("gap %+v", g)
	}
	// Open loads the counters back from the file.
	db = openDB(t, path, export.Standard, key, agentA)
	defer db.Close()
	if db.Consumed(lic.LicenseID) != have+30 || db.Consumed("lic-new") != 4 {
		t.Fatalf("reopened: counters %d and %d", db.Consumed(lic.LicenseID), db.Consumed("lic-new"))
	}
}

// TestRowTimesNeverDecrease writes actions whose times go back (two
// decisions reaching the WAL in another order than they read the clock):
// the rows keep the chain's times in order, and the file verifies.
func TestRowTimesNeverDecrease(t *testing.T) {
	t.Parallel()
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		path := filepath.Join(t.TempDir(), "usage.db")
		db := openDB(t, path, level, testKey(t), agentA)
		as := actions(1, 6)
		as[3].Time = as[0].Time.Add(-time.Second)
		if _, err := db.Write(as[:4], as[3].WALSeq); err != nil {
			t.Fatal(err)
		}
		// And across writes: a write whose actions are older than the last row.
		for i := range as[4:] {
			as[4+i].Time = as[0].Time
		}
		if _, err := db.Write(as[4:], as[5].WALSeq); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := export.Verify(path, testKey(t)); err != nil {
			t.Fatalf("%s: %v", level, err)
		}
		times := queryStrings(t, path, "SELECT time FROM usage ORDER BY seq")
		for i := 1; i < len(times); i++ {
			if times[i] < times[i-1] {
				t.Fatalf("%s: row %d at %s after %s", level, i+1, times[i], times[i-1])
			}
		}
	}
}
