package core_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
)

// testdata/datadir-2026-12-06 is a data directory written by the build of 2026-12-06 before
// the engine's API was typed, crashed after a checkpoint: the checkpoint holds order A-1 and
// its first answer as JSON, the log after it order B-1 (also with a JSON answer), consumes,
// a keyed denial, sessions and a batch. Today's engine must recover it whole: the same counts,
// the same open session, every remembered idempotency key, and order A-1's first answer for
// its externalId.
func TestRecoverEarlierBuild(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageDatabase = t.TempDir(), config.UsageOff
	if err := os.CopyFS(cfg.DataDir, os.DirFS("testdata/datadir-2026-12-06")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(cfg.DataDir, "wal"), 0o700); err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, cfg, noOpts())
	defer closeEngine(t, e)

	licenses := func(owner string) core.LicenseView {
		t.Helper()
		ls, err := e.OwnerLicenses(owner)
		if err != nil || len(ls) != 1 {
			t.Fatalf("%s: %+v, %v", owner, ls, err)
		}
		return ls[0]
	}
	pdf, viewer := licenses("organizations/acme"), licenses("users/bob")
	if pdf.Total() != 300 || pdf.Consumed() != 19 || pdf.Item != "PdfPro" || pdf.ProductName != "Pdf Pro" {
		t.Fatalf("PdfPro: %d of %d consumed, item %q, product %q; want 19 of 300", pdf.Consumed(), pdf.Total(), pdf.Item, pdf.ProductName)
	}
	if viewer.Total() != 30 || viewer.Consumed() != 6 {
		t.Fatalf("Viewer: %d of %d consumed, want 6 of 30", viewer.Consumed(), viewer.Total())
	}

	// Order A-1 again: its first answer, kept as JSON by the earlier build.
	from1, until1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 5e8, time.UTC)
	from2 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	order := core.Order{Type: "Order", ExternalID: "A-1", Items: []core.OrderItem{
		{ExternalID: "a1", ProductID: "pdf", Quantity: 100, ValidFrom: &from1, ValidUntil: &until1},
		{ExternalID: "a2", ProductID: "pdf", Quantity: 50, ValidFrom: &from2}}}
	tx, err := e.Provision("organizations/acme", order, core.Signed{})
	if err != nil || tx.ID != "a47dc3bd-e2ff-48e2-afb6-ce8aa906bbf8" || len(tx.Items) != 2 ||
		!tx.Items[0].Window.Until.Equal(until1) || !tx.Items[1].Window.Open || tx.Items[1].License.Total() != 300 {
		t.Fatalf("order A-1 again: %+v, %v; want its first answer", tx, err)
	}
	if e2 := licenses("organizations/acme"); e2.Total() != 300 {
		t.Fatalf("order A-1 again provisioned: total %d", e2.Total())
	}

	// Idempotency keys of both the checkpoint and the log, grants and a denial.
	for _, k := range []struct {
		key     string
		units   int64
		granted bool
	}{{"k-before", 7, true}, {"k-denied", 1000, false}, {"k-batch", 3, true}} {
		var ans core.Answer
		err := e.Consume(&core.ConsumeRequest{Owner: "organizations/acme", Item: "PdfPro", Units: k.units, IdempotencyKey: k.key}, &ans)
		if err != nil || ans.Granted != k.granted || k.granted && ans.Units != k.units {
			t.Fatalf("%s again: %+v, %v", k.key, ans, err)
		}
	}
	if c := licenses("organizations/acme").Consumed(); c != 19 {
		t.Fatalf("resent keys took units: %d consumed, want 19", c)
	}

	// Session s-1 is open (a call takes nothing); s-2 was checked in (a call checks out again).
	for _, s := range []struct {
		session string
		units   int64
	}{{"s-1", 0}, {"s-2", 3}} {
		var ans core.Answer
		if err := e.Consume(&core.ConsumeRequest{Owner: "users/bob", Item: "Viewer", Session: s.session}, &ans); err != nil || ans.Units != s.units {
			t.Fatalf("session %s: %+v, %v; want %d units", s.session, ans, err, s.units)
		}
	}
}
