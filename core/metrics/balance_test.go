package metrics_test

import (
	"math"
	"sync/atomic"
	"testing"

	"github.com/meterd/meterd/core/metrics"
)

// balance is one license as the engine's walk yields it.
type balance struct{ remaining, total int64 }

func walkOf(bs []balance) metrics.Balances {
	return func(yield func(int64, int64) bool) {
		for _, b := range bs {
			if !yield(b.remaining, b.total) {
				return
			}
		}
	}
}

// scrape reads meterd_licenses_active and meterd_licenses_below_ratio by ratio from the registry,
// as /metrics would show them.
func scrape(t *testing.T, m *metrics.Metrics) (active float64, below map[string]float64) {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	active, below = -1, map[string]float64{}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "meterd_licenses_active":
			active = mf.GetMetric()[0].GetGauge().GetValue()
		case "meterd_licenses_below_ratio":
			for _, s := range mf.GetMetric() {
				if l := s.GetLabel(); len(l) != 1 || l[0].GetName() != "ratio" {
					t.Fatalf("meterd_licenses_below_ratio with labels %v, want ratio alone", l)
				}
				below[s.GetLabel()[0].GetValue()] = s.GetGauge().GetValue()
			}
		}
	}
	if active < 0 || len(below) != 2 {
		t.Fatalf("want meterd_licenses_active and two ratios of meterd_licenses_below_ratio, got %v and %v", active, below)
	}
	return active, below
}

func newMetrics() *metrics.Metrics {
	return metrics.New(func() float64 { return 0 }, func() float64 { return 0 })
}

// A license counts below a ratio when its units left are strictly below that share of what its
// valid credits hold: exactly at the ratio is not below, one unit under is; an exhausted license
// is below every ratio; one with no valid credit is neither active nor below.
func TestLicensesBelowRatio(t *testing.T) {
	f := func(name string, bs []balance, active, below01, below025 float64) {
		t.Helper()
		m := newMetrics()
		m.WatchBalances(walkOf(bs))
		gotActive, gotBelow := scrape(t, m)
		if gotActive != active || gotBelow["0.1"] != below01 || gotBelow["0.25"] != below025 {
			t.Errorf("%s: active %v, below 0.1: %v, below 0.25: %v; want %v, %v, %v",
				name, gotActive, gotBelow["0.1"], gotBelow["0.25"], active, below01, below025)
		}
	}
	f("no licenses", nil, 0, 0, 0)
	f("full", []balance{{100, 100}}, 1, 0, 0)
	f("exactly 10 %", []balance{{10, 100}}, 1, 0, 1)
	f("one unit under 10 %", []balance{{9, 100}}, 1, 1, 1)
	f("exactly 25 %", []balance{{25, 100}}, 1, 0, 0)
	f("one unit under 25 %", []balance{{24, 100}}, 1, 0, 1)
	f("exactly 10 % of 10", []balance{{1, 10}}, 1, 0, 1)
	f("exactly 25 % of 4", []balance{{1, 4}}, 1, 0, 0)
	f("exhausted", []balance{{0, 100}}, 1, 1, 1)
	f("exhausted, one unit", []balance{{0, 1}}, 1, 1, 1)
	f("no valid credit", []balance{{0, 0}}, 0, 0, 0)
	f("negative units left count as none", []balance{{-1, 100}}, 1, 1, 1)
	// MaxInt64 is not a multiple of 10: its tenth rounded down is below 10 %, one more is not.
	// Floating point sees both as exactly 0.1; the products here would overflow int64.
	f("a tenth of MaxInt64, rounded down", []balance{{math.MaxInt64 / 10, math.MaxInt64}}, 1, 1, 1)
	f("a tenth of MaxInt64, rounded up", []balance{{math.MaxInt64/10 + 1, math.MaxInt64}}, 1, 0, 1)
	f("all of them", []balance{{100, 100}, {10, 100}, {9, 100}, {25, 100}, {24, 100}, {0, 100}, {0, 0}}, 6, 2, 4)
}

// The counts are taken at each scrape, from what the walk yields then.
func TestLicensesBelowRatioFollowsTheWalk(t *testing.T) {
	var remaining atomic.Int64
	remaining.Store(50)
	m := newMetrics()
	m.WatchBalances(func(yield func(int64, int64) bool) { yield(remaining.Load(), 100) })
	if _, below := scrape(t, m); below["0.1"] != 0 || below["0.25"] != 0 {
		t.Fatalf("half left: below %v, want none", below)
	}
	remaining.Store(5)
	if _, below := scrape(t, m); below["0.1"] != 1 || below["0.25"] != 1 {
		t.Fatalf("5 %% left: below %v, want 1 under each ratio", below)
	}
}
