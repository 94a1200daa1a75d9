package main

import (
	"slices"
	"time"
)

// roundOrder is the order in which round k (0-based) runs rows: the listed order in odd
// rounds (k even), reversed in even ones. ABBA ordering spreads a drift of the shared machine
// (another process starting, the disk filling its cache) over every row alike instead of
// charging it to the rows that happen to run last.
func roundOrder[T any](rows []T, k int) []T {
	out := slices.Clone(rows)
	if k%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// median of vals (the mean of the middle two for an even count); vals must not be empty.
func median(vals []float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// rowMedians are one row's figures, each the median over the rounds that measured it.
type rowMedians struct {
	rate, cpuShare         float64
	p50, p99, p999, cpuPer time.Duration
}

// mediansOf takes each figure's median on its own: the round with the median rate need not
// be the one with the median p99.
func mediansOf(rs []*result) rowMedians {
	of := func(f func(*result) float64) float64 {
		vals := make([]float64, len(rs))
		for i, r := range rs {
			vals[i] = f(r)
		}
		return median(vals)
	}
	dur := func(f func(*result) time.Duration) time.Duration {
		return time.Duration(of(func(r *result) float64 { return float64(f(r)) }))
	}
	quantile := func(q float64) time.Duration {
		return dur(func(r *result) time.Duration { return r.hist.quantile(q) })
	}
	return rowMedians{
		rate:     of((*result).rate),
		cpuShare: of((*result).cpuShare),
		p50:      quantile(0.5),
		p99:      quantile(0.99),
		p999:     quantile(0.999),
		cpuPer:   dur(func(r *result) time.Duration { return r.cpuPer(r.requests) }),
	}
}
