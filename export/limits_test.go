package export_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// Boundary values: exactly at a limit is accepted, one past it refused, and
// empty inputs are handled.

// maxConsumed is the documented bound of license_consumed: 2^53 - 1.
const maxConsumed = 1<<53 - 1

func consumeAt(seq uint64, lic string, units int64) export.Action {
	return export.Action{WALSeq: seq, Time: time.Date(2026, 12, 1, 10, 0, 0, int(seq), time.UTC), Kind: export.Consume,
		Owner: "organizations/acme", Item: "PdfPro", LicenseID: lic, Units: units}
}

// A license may consume up to exactly the bound, across writes; the first
// unit past it is refused before it reaches a row Verify would reject.
func TestLicenseCounterReachesExactlyTheBound(t *testing.T) {
	t.Parallel()
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		t.Run("level="+level.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.db")
			db := openDB(t, path, level, testKey(t), agentA)
			defer db.Close()
			if _, err := db.Write([]export.Action{consumeAt(1, "lic-1", 5)}, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write([]export.Action{consumeAt(2, "lic-1", maxConsumed-5)}, 2); err != nil {
				t.Fatalf("the units that bring the counter to exactly 2^53-1: %v", err)
			}
			if got := db.Consumed("lic-1"); got != maxConsumed {
				t.Fatalf("license_consumed %d, want %d", got, int64(maxConsumed))
			}
			if _, err := db.Write([]export.Action{consumeAt(3, "lic-1", 1)}, 3); !errors.Is(err, export.ErrInvalidAction) {
				t.Fatalf("one unit past the bound: got %v, want ErrInvalidAction", err)
			}
			if db.HeadSeq() != 2 {
				t.Fatalf("head %d after the refused write, want 2", db.HeadSeq())
			}
			db.Close()
			if s, err := export.Verify(path, testKey(t)); err != nil || s.Units != maxConsumed {
				t.Fatalf("verify: %+v, %v; want %d units", s, err, int64(maxConsumed))
			}
		})
	}
}

// Reconcile takes every time Verify takes: RFC 3339 years 0000 through
// 9999. An agent whose clock sits at either end must still bill its gap.
func TestReconcileAcceptsTheYearBounds(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Standard, testKey(t), agentA)
	defer db.Close()
	for i, at := range []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		bal := export.Balance{LicenseID: "lic-1", Owner: "organizations/acme", Item: "PdfPro", Consumed: int64(10 * (i + 1))}
		if rows, err := db.Reconcile([]export.Balance{bal}, at); rows != 1 || err != nil {
			t.Fatalf("Reconcile at %s: %d rows, %v; want 1 row", at.Format(time.RFC3339), rows, err)
		}
	}
	db.Close()
	if s, err := export.Verify(path, testKey(t)); err != nil || s.Units != 20 || len(s.Gaps) != 2 {
		t.Fatalf("verify: %+v, %v; want 20 units in 2 unexported rows", s, err)
	}
}

// A file may bill exactly math.MaxInt64 units in all (1024 licenses at the
// counter's bound and one more): Verify and Report must total it, not call
// it an overflow.
func TestFileTotalReachesExactlyMaxInt64(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Standard, testKey(t), agentA)
	var as []export.Action
	for i := range 1025 {
		units := int64(maxConsumed)
		if i == 1024 {
			units = math.MaxInt64 - 1024*maxConsumed
		}
		as = append(as, consumeAt(uint64(i+1), fmt.Sprintf("lic-%04d", i), units))
	}
	if _, err := db.Write(as, uint64(len(as))); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := export.Verify(path, testKey(t)); err != nil || s.Units != math.MaxInt64 {
		t.Fatalf("verify: %+v, %v; want MaxInt64 units", s, err)
	}
	totals, err := export.Report([]string{path}, testKey(t), export.ByMonth)
	if err != nil || len(totals) != 1 || totals[0].Units != math.MaxInt64 || totals[0].Events != 1025 {
		t.Fatalf("report: %+v, %v; want one total of MaxInt64 units and 1025 events", totals, err)
	}
}

// SignedRequest is total: the agent builds it from whatever a request
// carries, and even empty parts give METHOD SP PATH LF BODY.
func TestSignedRequestOfEmptyParts(t *testing.T) {
	t.Parallel()
	if got := string(export.SignedRequest("", "", nil)); got != " \n" {
		t.Fatalf("got %q, want %q", got, " \n")
	}
	if got := string(export.SignedRequest("P", "", nil)); got != "P \n" {
		t.Fatalf("got %q, want %q", got, "P \n")
	}
}

// An agent whose accepted export held no rows yet has head_seq 0 in the
// ledger; the saved ledger must load again, or the vendor's tools stop.
func TestLedgerWithAnEmptyExportLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "usage.db")
	build(t, empty, export.Standard, testKey(t), agentA)
	path := filepath.Join(dir, "vendor.ledger")
	l, err := export.LoadLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Accept(verified(t, empty))
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	l, err = export.LoadLedger(path)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if e, ok := l.Head(agentA); !ok || e.HeadSeq != 0 {
		t.Fatalf("head %+v, %v; want seq 0", e, ok)
	}
}
