package main

import (
	"strings"
	"testing"
)

func TestSchedSince(t *testing.T) {
	buckets := []float64{0, 1e-6, 1e-5, 1e-4, 1e-3}
	then := schedCounts{counts: []uint64{5, 5, 5, 5}, buckets: buckets}
	now := schedCounts{counts: []uint64{5, 95, 5, 6}, buckets: buckets}
	// Since then: 90 latencies in (1µs, 10µs], 1 in (100µs, 1ms].
	if got, want := now.since(then), "goroutine scheduling latency p50 10µs, p99 1ms"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := then.since(then); got != "" {
		t.Fatalf("no new samples: got %q, want nothing", got)
	}
	if got := readSched().since(schedCounts{}); got != "" {
		t.Fatalf("mismatched snapshots: got %q, want nothing", got)
	}
	if s := readSched(); len(s.counts) == 0 || len(s.buckets) != len(s.counts)+1 || !strings.HasPrefix(schedMetric, "/sched/") {
		t.Fatalf("runtime/metrics gave no scheduling histogram: %+v", s)
	}
}
