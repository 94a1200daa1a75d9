package main

import (
	"math"
	"math/bits"
	"time"
)

// Log-linear buckets, as HdrHistogram lays them out: values below 2·subBuckets nanoseconds
// get a bucket each; above that, every power of two is split into subBuckets equal buckets,
// so a bucket is never wider than 1/subBuckets (1.6 %) of the values it holds. Recording is
// an index computation and an increment: no allocation, no lock (one histogram per worker,
// merged at the end), no sorting of millions of samples.
const (
	subBits    = 6
	subBuckets = 1 << subBits
	numBuckets = (64 - subBits + 1) * subBuckets
)

// histogram counts latencies in nanoseconds.
type histogram struct {
	counts   [numBuckets]uint64
	total    uint64
	min, max uint64
}

func newHistogram() *histogram { return &histogram{min: math.MaxUint64} }

// bucketOf maps a value to its bucket index.
func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketHigh is the highest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	low := uint64(i%subBuckets+subBuckets) << shift
	return low + (1 << shift) - 1
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.total++
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// merge adds o's counts into h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// quantile is the value below or at which fraction q of the samples lie: the upper bound of
// the bucket holding that rank (within 1.6 % of the true value), never above the exact
// maximum; 0 when nothing was recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	panic("BUG: histogram counts do not add up to its total")
}
