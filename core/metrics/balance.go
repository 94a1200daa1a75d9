package metrics

import (
	"iter"
	"math/bits"

	"github.com/prometheus/client_golang/prometheus"
)

// balanceRatios are the thresholds of meterd_licenses_below_ratio. They are fixed, so that the
// series count is (a label per license would be unbounded), and kept as fractions, compared in
// integers, so that a balance exactly at a ratio is never counted below it by rounding.
var balanceRatios = []struct {
	label    string
	num, den uint64
}{{"0.1", 1, 10}, {"0.25", 1, 4}}

// Balances yields, for each license, the units left in its credits valid now and the units
// those credits hold in all: 0 and 0 when none is valid.
type Balances = iter.Seq2[int64, int64]

// WatchBalances registers meterd_licenses_active and meterd_licenses_below_ratio, counted
// from walk each time /metrics is scraped, so that the consume path does no work for them.
func (m *Metrics) WatchBalances(walk Balances) {
	m.reg.MustRegister(&balanceCollector{walk: walk,
		active: prometheus.NewDesc("meterd_licenses_active",
			"Licenses with a credit valid now.", nil, nil),
		below: prometheus.NewDesc("meterd_licenses_below_ratio",
			"Licenses with a credit valid now whose units left are below ratio of what their valid credits hold.",
			[]string{"ratio"}, nil)})
}

type balanceCollector struct {
	walk          Balances
	active, below *prometheus.Desc
}

func (c *balanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.active
	ch <- c.below
}

func (c *balanceCollector) Collect(ch chan<- prometheus.Metric) {
	active, below := countBalances(c.walk)
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(active))
	for i, r := range balanceRatios {
		ch <- prometheus.MustNewConstMetric(c.below, prometheus.GaugeValue, float64(below[i]), r.label)
	}
}

// countBalances walks the licenses once. A license whose valid credits hold nothing (none is
// valid now) is not counted: it is neither low nor full, and its consumes are denied as
// expired or not yet valid, which meterd_decisions_total counts.
func countBalances(walk Balances) (active int, below []int) {
	below = make([]int, len(balanceRatios))
	for remaining, total := range walk {
		if total <= 0 {
			continue
		}
		active++
		for i, r := range balanceRatios {
			if less(max(remaining, 0), total, r.num, r.den) {
				below[i]++
			}
		}
	}
	return active, below
}

// less reports remaining/total < num/den, for remaining >= 0 and total > 0, comparing 128-bit
// products so that no total overflows.
func less(remaining, total int64, num, den uint64) bool {
	lh, ll := bits.Mul64(uint64(remaining), den)
	rh, rl := bits.Mul64(uint64(total), num)
	return lh < rh || lh == rh && ll < rl
}
