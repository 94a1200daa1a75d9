// Command ratio reads the output of several rounds of a Go benchmark and
// prints, as a Markdown table, each implementation's median ns/op and the
// median over rounds of the ratios asked for.
//
// A ratio is computed per round, between two implementations measured back
// to back in the same round, and only then summarised: on a shared machine
// a burst of someone else's load then falls on both sides of one ratio,
// where a ratio of medians would compare different moments. Sub-benchmark
// names say which implementation they measure by one name=value element
// (-dim); the other elements name the setting. The i-th result of an
// implementation at a setting belongs to round i.
//
//	for i in $(seq 10); do go test ./shard -run '^$' -bench 'BenchmarkDecide$' -cpu 2; done |
//		go -C bench run ./ratio -dim impl -ratio shard/cas -ratio mutexmap/shard
//
// With -metric instead, it summarises metrics the benchmark reports itself,
// such as the ratios BenchmarkDecideTurns measures (metrics.go):
//
//	go test ./shard -run '^$' -bench BenchmarkDecideTurns -cpu 2 -count 5 |
//		go -C bench run ./ratio -metric shard/cas -metric mutexmap/shard
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// ratioFlag is a repeatable "num/den" flag.
type ratioFlag [][2]string

func (r *ratioFlag) String() string { return fmt.Sprint(*r) }

func (r *ratioFlag) Set(s string) error {
	num, den, ok := strings.Cut(s, "/")
	if !ok || num == "" || den == "" {
		return fmt.Errorf("want num/den, got %q", s)
	}
	*r = append(*r, [2]string{num, den})
	return nil
}

// metricFlag is a repeatable metric unit.
type metricFlag []string

func (m *metricFlag) String() string { return strings.Join(*m, ",") }

func (m *metricFlag) Set(s string) error {
	if s == "" || strings.ContainsAny(s, " \t") {
		return fmt.Errorf("want a metric's unit, got %q", s)
	}
	*m = append(*m, s)
	return nil
}

func main() {
	dim := flag.String("dim", "impl", "the name=value element of a sub-benchmark name that names the implementation")
	var ratios ratioFlag
	var names metricFlag
	flag.Var(&ratios, "ratio", "num/den: report ns(num)/ns(den) per round (repeatable)")
	flag.Var(&names, "metric", "a metric the benchmark reports: summarise it over rounds (repeatable; not with -ratio)")
	flag.Parse()
	if (len(ratios) == 0) == (len(names) == 0) || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: ratio [-dim impl] -ratio num/den [-ratio ...] < bench-output\n"+
			"       ratio -metric unit [-metric ...] < bench-output")
		os.Exit(2)
	}
	if len(names) > 0 {
		m, err := parseMetrics(os.Stdin, names)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ratio:", err)
			os.Exit(1)
		}
		if len(m.benchmarks) == 0 {
			fmt.Fprintf(os.Stderr, "ratio: no benchmark results with the metrics %q on stdin\n", names)
			os.Exit(1)
		}
		writeMetrics(os.Stdout, m, names)
		return
	}
	res, err := parse(os.Stdin, *dim)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratio:", err)
		os.Exit(1)
	}
	if len(res.settings) == 0 {
		fmt.Fprintf(os.Stderr, "ratio: no benchmark results with a %s= element on stdin\n", *dim)
		os.Exit(1)
	}
	write(os.Stdout, res, ratios)
}

// results holds ns/op by setting, implementation and round.
type results struct {
	settings []string // in order of first appearance
	impls    []string
	ns       map[string]map[string][]float64
}

// parse reads ns/op as a metric (metrics.go) and splits each benchmark's name into the
// implementation, its dim element, and the setting, the rest.
func parse(r io.Reader, dim string) (*results, error) {
	m, err := parseMetrics(r, []string{"ns/op"})
	if err != nil {
		return nil, err
	}
	res := &results{ns: map[string]map[string][]float64{}}
	for _, b := range m.benchmarks {
		var impl string
		var rest []string
		for _, e := range strings.Split(b, "/") {
			if k, val, ok := strings.Cut(e, "="); ok && k == dim {
				impl = val
			} else {
				rest = append(rest, e)
			}
		}
		if impl == "" {
			continue
		}
		setting := strings.Join(rest, "/")
		if res.ns[setting] == nil {
			res.ns[setting] = map[string][]float64{}
			res.settings = append(res.settings, setting)
		}
		if !slices.Contains(res.impls, impl) {
			res.impls = append(res.impls, impl)
		}
		res.ns[setting][impl] = m.vals[b]["ns/op"]
	}
	return res, nil
}

func write(w io.Writer, res *results, ratios ratioFlag) {
	fmt.Fprint(w, "| setting | rounds |")
	for _, impl := range res.impls {
		fmt.Fprintf(w, " %s ns/op |", impl)
	}
	for _, r := range ratios {
		fmt.Fprintf(w, " %s/%s median (min–max) |", r[0], r[1])
	}
	fmt.Fprint(w, "\n|---|---:|", strings.Repeat("---:|", len(res.impls)), strings.Repeat("---|", len(ratios)), "\n")
	for _, s := range res.settings {
		ns := res.ns[s]
		rounds := 0
		for _, v := range ns {
			rounds = max(rounds, len(v))
		}
		fmt.Fprintf(w, "| %s | %d |", s, rounds)
		for _, impl := range res.impls {
			if v := ns[impl]; len(v) > 0 {
				fmt.Fprintf(w, " %.1f |", median(v))
			} else {
				fmt.Fprint(w, " |")
			}
		}
		for _, r := range ratios {
			q := perRound(ns[r[0]], ns[r[1]])
			if len(q) == 0 {
				fmt.Fprint(w, " |")
				continue
			}
			fmt.Fprintf(w, " **%.2f** (%.2f–%.2f) |", median(q), slices.Min(q), slices.Max(q))
		}
		fmt.Fprintln(w)
	}
}

// perRound returns num[i]/den[i] for the rounds both have.
func perRound(num, den []float64) []float64 {
	q := make([]float64, min(len(num), len(den)))
	for i := range q {
		q[i] = num[i] / den[i]
	}
	return q
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
