package main_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
)

// Black-box tests of the bill as a customer who wants it smaller would try: the real meterd,
// stopped and restarted with other flags or files, and the vendor's meterctl reading what it
// wrote. Each ends with the units billed or the agent refusing to start; never a file that
// verifies and bills less than was granted.

// consumeUnits asks for units one at a time and fails unless each is granted.
func (p *proc) consumeUnits(n int) {
	p.t.Helper()
	for range n {
		d, err := p.c.Consume(p.t.Context(), client.ConsumeRequest{Owner: "organizations/o", Item: "Item", Units: 1})
		if err != nil || !d.Granted {
			p.t.Fatalf("consume: %+v %v", d, err)
		}
	}
}

// vendorReads verifies the data directory's usage database with meterctl and returns what
// verify printed and the units the report bills.
func vendorReads(t *testing.T, data string) (string, int64) {
	t.Helper()
	key, db := filepath.Join(data, "usage.key"), filepath.Join(data, "usage.db")
	out, err := meterctl.Run("verify", "-key", key, db)
	if err != nil {
		t.Fatal(err)
	}
	billed, err := meterctl.Billed(key, db)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), billed["Item"]
}

func TestProcessUsageDatabaseOffIsBilled(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := startMeterd(t, data)
	p.provision(1000)
	p.consumeUnits(5)
	p.stop(syscall.SIGTERM)

	p = startMeterd(t, data, "-usage-database", "off")
	p.consumeUnits(300)
	p.stop(syscall.SIGTERM)

	p = startMeterd(t, data)
	p.consumeUnits(1)
	p.stop(syscall.SIGTERM)
	if !strings.Contains(p.log.String(), "written as unexported rows") {
		t.Errorf("the agent did not log the unexported rows:\n%s", p.log.String())
	}

	verify, units := vendorReads(t, data)
	if units != 306 {
		t.Fatalf("billed %d, want 306; verify said:\n%s", units, verify)
	}
	if !strings.Contains(verify, ": warning: seq ") || !strings.Contains(verify, " 300 units of organizations/o Item") {
		t.Fatalf("verify did not warn of the 300 unexported units:\n%s", verify)
	}
}

func TestProcessUsageDatabaseRolledBack(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	db := filepath.Join(data, "usage.db")
	p := startMeterd(t, data)
	p.provision(1000)
	p.consumeUnits(5)
	p.stop(syscall.SIGTERM)
	old := readAll(t, db)

	p = startMeterd(t, data)
	p.consumeUnits(10)
	p.stop(syscall.SIGTERM)
	current := readAll(t, db)

	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tryStart(t, data); err == nil || !strings.Contains(err.Error(), "older copy") {
		t.Fatalf("start with an older copy of the usage database: %v; want a refusal that says so", err)
	}
	if err := os.WriteFile(db, current, 0o600); err != nil {
		t.Fatal(err)
	}
	startMeterd(t, data).stop(syscall.SIGTERM)
	if _, units := vendorReads(t, data); units != 15 {
		t.Fatalf("billed %d, want 15", units)
	}
}

// Far dates read back as the same instant; a credit that starts in 2600 grants nothing today;
// an order that would take a license past 2^53 units is refused whole.
func TestProcessDatesAndTotals(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := startMeterd(t, data)
	defer p.stop(syscall.SIGTERM)
	ctx := t.Context()
	million := itemProduct
	million.CreditAmount = 1_000_000
	if _, err := p.c.PutProduct(ctx, "p", million); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tx, err := p.c.Provision(ctx, "organizations/o", client.Order{ExternalID: "far", Items: []client.OrderItem{
		{ProductID: "p", Quantity: 1, LicenseValidFrom: at("2600-01-01T00:00:00Z"), LicenseValidUntil: at("5000-01-01T00:00:00Z")},
		{ProductID: "p", Quantity: 2, LicenseValidFrom: time.Now().UTC().Add(-time.Hour).Truncate(time.Second),
			LicenseValidUntil: at("9999-12-31T23:59:59.999999999Z")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := tx.Items[0].Licenses[0].ID
	view, err := p.c.License(ctx, id)
	if err != nil {
		t.Fatalf("get license: %v", err)
	}
	// As meterd wrote them: RFC 3339 in UTC, every digit of the fraction it was given.
	wire := func(tm *time.Time) string {
		if tm == nil {
			return "null"
		}
		return tm.Format(time.RFC3339Nano)
	}
	c0, c1 := view.UseCountCredits[0], view.UseCountCredits[1]
	if wire(c0.ValidFrom) != "2600-01-01T00:00:00Z" || wire(c0.ValidUntil) != "5000-01-01T00:00:00Z" ||
		wire(c1.ValidUntil) != "9999-12-31T23:59:59.999999999Z" || c0.Active {
		t.Fatalf("credits read back as %+v", view.UseCountCredits)
	}
	d, err := p.c.Consume(ctx, client.ConsumeRequest{License: id, Units: 2_000_001})
	if err != nil || d.Granted || d.Remaining != 2_000_000 {
		t.Fatalf("consume more than the active credit: %+v %v; want a denial with the 2026 credit's 2000000 remaining", d, err)
	}

	big := client.Order{ExternalID: "too-many"} // 10^16 units: past 2^53
	for range 10 {
		big.Items = append(big.Items, client.OrderItem{ProductID: "p", Quantity: 1_000_000_000})
	}
	_, err = p.c.Provision(ctx, "organizations/o", big)
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != 400 || !strings.Contains(api.Message, "over the most one license may hold") {
		t.Fatalf("order past 2^53: %v; want 400 naming the bound", err)
	}
	if view, err = p.c.License(ctx, id); err != nil || view.UseCountTotal != 3_000_000 {
		t.Fatalf("total %d (%v) after a refused order, want 3000000", view.UseCountTotal, err)
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
