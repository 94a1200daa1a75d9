package main

import (
	"strings"
	"testing"
)

const twoRounds = `goos: linux
BenchmarkDecide/impl=cas/keys=10/parallel=1-2   	100	        10.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkDecide/impl=shard/keys=10/parallel=1-2 	100	        40.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkDecide/impl=cas/keys=10/parallel=1-2   	100	        20.0 ns/op
BenchmarkDecide/impl=shard/keys=10/parallel=1-2 	100	        50.0 ns/op
BenchmarkOther-2 	100	        1.0 ns/op
PASS
`

// Ratios are taken within a round, then summarised: 40/10 and 50/20 give a
// median of 3.25, where the ratio of the medians would be 45/15 = 3.
func TestPerRoundRatios(t *testing.T) {
	res, err := parse(strings.NewReader(twoRounds), "impl")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.settings) != 1 || res.settings[0] != "Decide/keys=10/parallel=1" {
		t.Fatalf("settings = %q, want one, Decide/keys=10/parallel=1", res.settings)
	}
	var out strings.Builder
	write(&out, res, ratioFlag{{"shard", "cas"}})
	want := "| Decide/keys=10/parallel=1 | 2 | 15.0 | 45.0 | **3.25** (2.50–4.00) |"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("table:\n%s\nwant the row\n%s", out.String(), want)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

const turnRounds = `BenchmarkDecideTurns/keys=10/parallel=1-2 	 50	 7339755 ns/op	 2.0 cas-ns	 4.000 shard/cas	 0 B/op
BenchmarkDecideTurns/keys=10/parallel=1-2 	 50	 7339755 ns/op	 3.0 cas-ns	 3.500 shard/cas
BenchmarkDecideTurns/keys=10/parallel=1-2 	 50	 7339755 ns/op	 9.0 cas-ns	 5.000 shard/cas
BenchmarkOther-2 	100	        1.0 ns/op
`

// -metric takes each named metric from the lines that carry it, by
// benchmark, and summarises it over the rounds.
func TestMetrics(t *testing.T) {
	names := []string{"shard/cas", "cas-ns", "absent"}
	m, err := parseMetrics(strings.NewReader(turnRounds), names)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.benchmarks) != 1 || m.benchmarks[0] != "DecideTurns/keys=10/parallel=1" {
		t.Fatalf("benchmarks = %q, want one, DecideTurns/keys=10/parallel=1", m.benchmarks)
	}
	var out strings.Builder
	writeMetrics(&out, m, names)
	want := "| DecideTurns/keys=10/parallel=1 | 3 | **4.00** (3.50–5.00) | **3.00** (2.00–9.00) | |"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("table:\n%s\nwant the row\n%s", out.String(), want)
	}
}
