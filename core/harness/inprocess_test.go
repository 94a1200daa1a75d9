package harness_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// startAgent runs an in-process agent on a directory of its own for the test.
func startAgent(t *testing.T) (*harness.InProcess, *client.Client) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = ""
	a, err := harness.StartInProcess(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Client(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseIdle()
		if err := a.Stop(); err != nil {
			t.Error(err)
		}
	})
	return a, c
}

func order(ext, product string, qty int64) client.Order {
	now := time.Now().UTC()
	return client.Order{Type: "Order", ExternalID: ext, Items: []client.OrderItem{{ExternalID: ext + "-1", ProductID: product,
		Quantity: qty, LicenseValidFrom: now.Add(-time.Minute), LicenseValidUntil: now.AddDate(1, 0, 0)}}}
}

// The client against the real server: every call, its answer read field by field.
func TestInProcessClient(t *testing.T) {
	a, c := startAgent(t)
	ctx := context.Background()
	p, err := c.PutProduct(ctx, "pdfpro", client.Product{LicensedItem: "PdfPro", TrackingMode: client.TrackCallerCount, CreditAmount: 2})
	if err != nil || p != (client.Product{ID: "pdfpro", Name: "PdfPro", LicensedItem: "PdfPro", TrackingMode: client.TrackCallerCount, CreditAmount: 2}) {
		t.Fatalf("put product: %+v, %v", p, err)
	}
	o1 := order("o-1", "pdfpro", 500)
	tx, err := c.Provision(ctx, "organizations/acme", o1)
	if err != nil || tx.ExternalID != "o-1" || len(tx.Items) != 1 || len(tx.Items[0].Licenses) != 1 {
		t.Fatalf("provision: %+v, %v", tx, err)
	}
	again, err := c.Provision(ctx, "organizations/acme", o1)
	if err != nil || again.ID != tx.ID {
		t.Fatalf("the same order again: %+v, %v; want the first answer", again, err)
	}
	o1.Items[0].Quantity++
	if _, err := c.Provision(ctx, "organizations/acme", o1); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("o-1 with another quantity: %v; want 409 conflict", err)
	}
	lic := tx.Items[0].Licenses[0]
	if lic.LicensedItem.Name != "PdfPro" || lic.UseCountTotal != 1000 || !lic.Active || lic.Owner != "organizations/acme" {
		t.Fatalf("license in the answer: %+v", lic)
	}
	d, err := c.Consume(ctx, client.ConsumeRequest{Owner: "organizations/acme", Item: "PdfPro", Units: 4, User: "alice"})
	if err != nil || !d.Granted || d.Units != 4 || d.Remaining != 996 || d.License != lic.ID || d.Seq == 0 {
		t.Fatalf("consume: %+v, %v", d, err)
	}
	keyed := client.ConsumeRequest{License: lic.ID, Units: 6, IdempotencyKey: "job-1"}
	first, err1 := c.Consume(ctx, keyed)
	second, err2 := c.Consume(ctx, keyed)
	if err1 != nil || err2 != nil || first != second || first.Remaining != 990 {
		t.Fatalf("a key sent twice: %+v %v, then %+v %v; want one grant, answered twice", first, err1, second, err2)
	}
	if d, err := c.Consume(ctx, client.ConsumeRequest{License: lic.ID, Units: 5000}); err != nil || d.Granted || d.Reason != "exhausted" || d.Remaining != 990 {
		t.Fatalf("too much: %+v, %v; want a denial", d, err)
	}
	res, err := c.ConsumeBatch(ctx, []client.ConsumeRequest{{License: lic.ID, Units: 1}, {License: "nope", Units: 1}})
	if err != nil || len(res) != 2 || !res[0].Granted || !errors.Is(res[1].Err, client.ErrNotFound) {
		t.Fatalf("batch: %+v, %v", res, err)
	}
	got, err := c.License(ctx, lic.ID)
	if err != nil || got.UseCountConsumed != 11 || got.UseCountTotal != 1000 || len(got.UseCountCredits) != 1 {
		t.Fatalf("license: %+v, %v", got, err)
	}
	if _, err := c.License(ctx, "no-such-license"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("unknown license: %v", err)
	}
	if _, err := c.Consume(ctx, client.ConsumeRequest{License: lic.ID, Units: -1}); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("negative units: %v", err)
	}
	if ls, err := c.OwnerLicenses(ctx, "users/nobody"); err != nil || ls == nil || len(ls) != 0 {
		t.Fatalf("owner with nothing: %#v, %v", ls, err)
	}
	stranger, _ := client.New(a.Base, client.Options{Token: "not-the-token"})
	if _, err := stranger.OwnerLicenses(ctx, "organizations/acme"); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("a wrong token: %v", err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Metrics(ctx); err != nil || !strings.Contains(string(m), "meterd_decisions_total") {
		t.Fatalf("metrics: %v\n%.300s", err, m)
	}
}

// Sessions: a checkout takes the credit amount, a call in the open session nothing, a checkin
// closes it, and a second checkin is told it is not open.
func TestInProcessSessions(t *testing.T) {
	_, c := startAgent(t)
	ctx := context.Background()
	if _, err := c.PutProduct(ctx, "viewer", client.Product{LicensedItem: "Viewer", TrackingMode: client.TrackSessions, CreditAmount: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Provision(ctx, "users/alice", order("a-1", "viewer", 10)); err != nil {
		t.Fatal(err)
	}
	s := client.ConsumeRequest{Owner: "users/alice", Item: "Viewer", Session: "s-1"}
	out, err1 := c.Consume(ctx, s)
	in, err2 := c.Consume(ctx, s)
	if err1 != nil || err2 != nil || out.Units != 2 || in.Units != 0 || in.Remaining != 18 {
		t.Fatalf("checkout %+v %v, call %+v %v", out, err1, in, err2)
	}
	ci := client.CheckinRequest{Owner: "users/alice", Item: "Viewer", Session: "s-1"}
	if a, err := c.Checkin(ctx, ci); err != nil || !a.CheckedIn || a.Session != "s-1" || a.Remaining != 18 {
		t.Fatalf("checkin: %+v, %v", a, err)
	}
	if _, err := c.Checkin(ctx, ci); !errors.Is(err, client.ErrSessionNotOpen) {
		t.Fatalf("second checkin: %v", err)
	}
}

// Stop removes the directory the harness made, and only that one.
func TestInProcessStopRemovesItsDirectory(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = ""
	a, err := harness.StartInProcess(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s after Stop: %v", a.Dir, err)
	}
	cfg.DataDir = t.TempDir()
	if a, err = harness.StartInProcess(cfg, core.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.DataDir + "/admin.token"); err != nil {
		t.Fatalf("the caller's directory lost its files: %v", err)
	}
}
