package main

import (
	"fmt"
	"runtime/metrics"
	"time"
)

// Goroutine scheduling latency (time from runnable to running) over a row's window tells
// whether answers wait for a processor rather than for the disk: with both cores busy, the
// goroutine an fsync wakes queues behind the HTTP goroutines.

const schedMetric = "/sched/latencies:seconds"

// schedCounts is a snapshot of the runtime's scheduling-latency histogram.
type schedCounts struct {
	counts  []uint64
	buckets []float64
}

func readSched() schedCounts {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return schedCounts{}
	}
	h := s[0].Value.Float64Histogram()
	return schedCounts{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// since returns the quantiles of the latencies recorded between then and s.
func (s schedCounts) since(then schedCounts) string {
	if len(s.counts) == 0 || len(then.counts) != len(s.counts) {
		return ""
	}
	d := make([]uint64, len(s.counts))
	var total uint64
	for i := range d {
		d[i] = s.counts[i] - then.counts[i]
		total += d[i]
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("goroutine scheduling latency p50 %v, p99 %v", s.quantile(d, total, 0.5), s.quantile(d, total, 0.99))
}

// quantile is the upper bound of the bucket holding rank q of d.
func (s schedCounts) quantile(d []uint64, total uint64, q float64) time.Duration {
	rank := uint64(q * float64(total))
	var seen uint64
	for i, c := range d {
		seen += c
		if seen > rank {
			return time.Duration(s.buckets[i+1] * float64(time.Second)).Round(time.Microsecond)
		}
	}
	return 0
}
