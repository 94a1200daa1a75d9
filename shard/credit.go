package shard

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// cacheLine is the padding unit. As in VictoriaMetrics lib/atomicutil, 128
// rather than 64 bytes: x86 adjacent-line prefetchers pull lines in 128-byte
// pairs, so two counters 64 bytes apart still contend.
const cacheLine = 128

// credit is one use-count credit. Its window, total and index never change
// once published; balance is written by every take and give.
//
// The window sits next to balance on purpose: the fast path reads both, and a
// take must fetch balance's line anyway, so one miss serves both. What must
// not share the line is anything another license or credit writes, so every
// credit lives in a cacheLine-sized, cacheLine-aligned block of its own:
// credit 0 inside its License (whose other fields are its own license's), the
// others in a paddedCredit.
type credit struct {
	balance atomic.Int64 // total - used; never below 0 nor above total
	from    int64        // first active instant, unix ns
	until   int64        // first inactive instant, unix ns
	total   int64
	index   int32 // position in creation order
}

// paddedCredit is exactly cacheLine bytes, so the allocator serves it from
// the 128-byte size class, whose objects are 128-byte aligned.
type paddedCredit struct {
	credit
	_ [cacheLine - unsafe.Sizeof(credit{})]byte
}

// init fills in a credit not yet published.
func (c *credit) init(index int, from, until, total, used int64) {
	if total < 0 || used < 0 || used > total {
		panic(fmt.Sprintf("BUG: shard: credit with total %d and used %d", total, used))
	}
	if until <= from {
		panic(fmt.Sprintf("BUG: shard: credit window [%d, %d) is empty", from, until))
	}
	c.from, c.until, c.total, c.index = from, until, total, int32(index)
	c.balance.Store(total - used)
}

// active reports whether now lies in the half-open window [from, until).
func (c *credit) active(now int64) bool {
	return c.from <= now && now < c.until
}

// takeUpTo takes min(balance, want) units and returns how many it took.
func (c *credit) takeUpTo(want int64) int64 {
	for {
		b := c.balance.Load()
		got := min(b, want)
		if got == 0 || c.balance.CompareAndSwap(b, b-got) {
			return got
		}
	}
}

// give returns units taken earlier. Returning more than was taken is a bug
// in the caller, caught here so that a credit never exceeds its total.
func (c *credit) give(units int64) {
	if units < 0 {
		panic(fmt.Sprintf("BUG: shard: give of %d units", units))
	}
	for {
		b := c.balance.Load()
		if b+units > c.total {
			panic(fmt.Sprintf("BUG: shard: give of %d units would overfill credit %d", units, c.index))
		}
		if c.balance.CompareAndSwap(b, b+units) {
			return
		}
	}
}

// takesBefore reports whether c comes before d in take order.
func (c *credit) takesBefore(d *credit) bool {
	if c.until != d.until {
		return c.until < d.until
	}
	return c.index < d.index
}

// CreditState is a snapshot of one credit for display.
type CreditState struct {
	From, Until, Total, Used int64
}

func (c *credit) state() CreditState {
	return CreditState{From: c.from, Until: c.until, Total: c.total, Used: c.total - c.balance.Load()}
}
