package core_test

import (
	"testing"
	"time"

	"github.com/meterd/meterd/core"
)

// meterd_licenses_below_ratio counts each license from its credits valid at the engine's time
// only: an expired credit's unused units and a later credit's units neither hide a low balance
// nor make one. A credit valid from exactly now counts, one valid until exactly now does not.
func TestLicensesBelowRatio(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := newTestClock(t0)
	e := openEngine(t, newTestConfig(t), clk.opts())
	defer closeEngine(t, e)
	if _, err := e.PutProduct(billProduct, core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	year, past := t0.AddDate(1, 0, 0), t0.AddDate(-1, 0, 0)
	order := func(owner, ext string, quantity int64, from, until time.Time) {
		t.Helper()
		if _, err := e.Provision(owner, orderOf(ext, billProduct, quantity, from, until), core.Signed{}); err != nil {
			t.Fatalf("order %s: %v", ext, err)
		}
	}
	take := func(owner string, units int64) {
		t.Helper()
		var ans core.Answer
		if err := e.Consume(&core.ConsumeRequest{Owner: owner, Item: "PdfPro", Units: units}, &ans); err != nil || !ans.Granted {
			t.Fatalf("consume %d from %s: %+v, %v", units, owner, ans, err)
		}
	}
	order("organizations/full", "full", 100, t0.Add(-time.Hour), year)
	order("organizations/tenth", "tenth", 100, t0.Add(-time.Hour), year)
	take("organizations/tenth", 90) // exactly 10 % left
	order("organizations/under", "under", 100, t0.Add(-time.Hour), year)
	take("organizations/under", 91)
	order("organizations/empty", "empty", 10, t0.Add(-time.Hour), year)
	take("organizations/empty", 10)
	order("organizations/expired", "expired", 10, past.AddDate(-1, 0, 0), past)
	order("organizations/later", "later", 10, t0.Add(time.Hour), year)
	order("organizations/ended-now", "ended-now", 10, past, t0)
	order("organizations/starts-now", "starts-now", 10, t0, year)
	// 100 unused units in an expired credit; the valid one has exactly 10 % left.
	order("organizations/old-credit", "old-credit-1", 100, past.AddDate(-1, 0, 0), past)
	order("organizations/old-credit", "old-credit-2", 10, t0.Add(-time.Hour), year)
	take("organizations/old-credit", 9)
	// The valid credit is exhausted; 100 units start in an hour.
	order("organizations/next-credit", "next-credit-1", 10, t0.Add(-time.Hour), year)
	take("organizations/next-credit", 10)
	order("organizations/next-credit", "next-credit-2", 100, t0.Add(time.Hour), year)
	// A credit valid for ever, 20 % left.
	from := t0.Add(-time.Hour)
	if _, err := e.Provision("organizations/open", core.Order{Type: "Order", ExternalID: "open", Items: []core.OrderItem{{
		ExternalID: "item-open", ProductID: billProduct, Quantity: 100, ValidFrom: &from}}}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	take("organizations/open", 80)

	check := func(when string, active, below01, below025 float64) {
		t.Helper()
		gotActive, below := balanceGauges(t, e)
		if gotActive != active || below["0.1"] != below01 || below["0.25"] != below025 {
			t.Fatalf("%s: active %v, below 0.1: %v, below 0.25: %v; want %v, %v, %v",
				when, gotActive, below["0.1"], below["0.25"], active, below01, below025)
		}
	}
	// Active: full, tenth, under, empty, starts-now, old-credit, next-credit, open.
	// Below 0.1: under, empty, next-credit. Below 0.25: those, tenth, old-credit and open.
	check("at t0", 8, 3, 6)
	take("organizations/tenth", 1)
	check("one unit under 10 %", 8, 4, 6)
	clk.set(t0.Add(time.Hour)) // later's and next-credit's credits start
	check("an hour later", 9, 3, 5)
}

// balanceGauges reads meterd_licenses_active and meterd_licenses_below_ratio by ratio.
func balanceGauges(t *testing.T, e *core.Engine) (active float64, below map[string]float64) {
	t.Helper()
	mfs, err := e.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	active, below = -1, map[string]float64{}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "meterd_licenses_active":
			active = mf.GetMetric()[0].GetGauge().GetValue()
		case "meterd_licenses_below_ratio":
			for _, m := range mf.GetMetric() {
				below[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	if active < 0 || len(below) != 2 {
		t.Fatalf("no meterd_licenses_active, or not two ratios of meterd_licenses_below_ratio: %v, %v", active, below)
	}
	return active, below
}
