package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Every value lands in a bucket whose bounds hold it, buckets tile the line without gaps, and
// no bucket is wider than 1/subBuckets of its values.
func TestBuckets(t *testing.T) {
	f := func(v uint64) {
		t.Helper()
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, numBuckets)
		}
		if hi := bucketHigh(i); hi < v {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d, below the value", v, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Fatalf("bucket %d below %d's ends at %d, not below it", i-1, v, bucketHigh(i-1))
		}
		if low := bucketHigh(i-1) + 1; i > 0 && float64(bucketHigh(i)-low) > float64(low)/subBuckets {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its low end", i, low, bucketHigh(i), subBuckets)
		}
	}
	for v := range uint64(5000) {
		f(v)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		f(rng.Uint64() >> rng.IntN(64))
	}
	f(1<<63 - 1)
	f(1<<64 - 1)
}

func TestQuantiles(t *testing.T) {
	h := newHistogram()
	for v := 1; v <= 100_000; v++ {
		h.record(time.Duration(v) * time.Microsecond)
	}
	f := func(q float64, want time.Duration) {
		t.Helper()
		got := h.quantile(q)
		if got < want || float64(got-want) > float64(want)/subBuckets {
			t.Fatalf("quantile(%v) = %v, want %v to +1.6 %%", q, got, want)
		}
	}
	f(0.5, 50*time.Millisecond)
	f(0.99, 99*time.Millisecond)
	f(0.999, 99900*time.Microsecond)
	f(0, time.Microsecond)
	f(1, 100*time.Millisecond)
}

// A skewed distribution: 990 fast answers and 10 slow ones. p99 is still fast; p999 is slow.
func TestQuantilesTail(t *testing.T) {
	h := newHistogram()
	for range 990 {
		h.record(100 * time.Microsecond)
	}
	for range 10 {
		h.record(20 * time.Millisecond)
	}
	if got := h.quantile(0.99); got < 100*time.Microsecond || got > 102*time.Microsecond {
		t.Fatalf("p99 %v, want about 100µs", got)
	}
	if got := h.quantile(0.999); got != 20*time.Millisecond {
		t.Fatalf("p999 %v, want 20ms (clamped to the maximum)", got)
	}
}

// Merging per-worker histograms gives what one histogram of every sample gives.
func TestMerge(t *testing.T) {
	all, parts := newHistogram(), []*histogram{newHistogram(), newHistogram(), newHistogram()}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 30_000 {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		all.record(d)
		parts[i%3].record(d)
	}
	merged := newHistogram()
	for _, p := range parts {
		merged.merge(p)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		if got, want := merged.quantile(q), all.quantile(q); got != want {
			t.Fatalf("merged quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if merged.total != all.total || merged.min != all.min || merged.max != all.max {
		t.Fatalf("merged total/min/max %d/%d/%d, want %d/%d/%d", merged.total, merged.min, merged.max, all.total, all.min, all.max)
	}
}

func TestEmptyHistogram(t *testing.T) {
	h := newHistogram()
	if h.quantile(0.99) != 0 {
		t.Fatalf("empty histogram: p99 %v, want 0", h.quantile(0.99))
	}
}

func TestRecordAllocs(t *testing.T) {
	h := newHistogram()
	if n := testing.AllocsPerRun(1000, func() { h.record(123 * time.Microsecond) }); n != 0 {
		t.Fatalf("%v allocations per record, want 0", n)
	}
}
