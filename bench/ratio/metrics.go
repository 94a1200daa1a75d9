package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Every value a benchmark line reports is a metric, ns/op included: parse
// reads ns/op through parseMetrics. A benchmark that measures its ratios
// itself (BenchmarkDecideTurns) reports them as metrics too; -metric
// summarises those over rounds: per benchmark, the median and range of each
// metric named.

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// metrics holds the values of the named metrics by benchmark and round.
type metrics struct {
	benchmarks []string // in order of first appearance
	vals       map[string]map[string][]float64
}

func parseMetrics(r io.Reader, names []string) (*metrics, error) {
	m := &metrics{vals: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		sub := benchLine.FindStringSubmatch(sc.Text())
		if sub == nil {
			continue
		}
		f := strings.Fields(sub[2]) // value unit value unit ...
		for i := 0; i+1 < len(f); i += 2 {
			if !slices.Contains(names, f[i+1]) {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", sc.Text(), err)
			}
			b := sub[1]
			if m.vals[b] == nil {
				m.vals[b] = map[string][]float64{}
				m.benchmarks = append(m.benchmarks, b)
			}
			m.vals[b][f[i+1]] = append(m.vals[b][f[i+1]], v)
		}
	}
	return m, sc.Err()
}

func writeMetrics(w io.Writer, m *metrics, names []string) {
	fmt.Fprint(w, "| benchmark | rounds |")
	for _, n := range names {
		fmt.Fprintf(w, " %s median (min–max) |", n)
	}
	fmt.Fprint(w, "\n|---|---:|", strings.Repeat("---|", len(names)), "\n")
	for _, b := range m.benchmarks {
		rounds := 0
		for _, v := range m.vals[b] {
			rounds = max(rounds, len(v))
		}
		fmt.Fprintf(w, "| %s | %d |", b, rounds)
		for _, n := range names {
			if v := m.vals[b][n]; len(v) > 0 {
				fmt.Fprintf(w, " **%.2f** (%.2f–%.2f) |", median(v), slices.Min(v), slices.Max(v))
			} else {
				fmt.Fprint(w, " |")
			}
		}
		fmt.Fprintln(w)
	}
}
