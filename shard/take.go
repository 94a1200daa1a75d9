package shard

import "fmt"

// Part says how many units one credit gave to a take.
type Part struct {
	Credit int32 // index of the credit in creation order
	Units  int64
}

// Result of a Take.
type Result struct {
	Outcome Outcome
	// Remaining is the sum of balances of the credits active at now, after
	// the take; denials carry it too.
	Remaining int64
	// Parts says where the units came from; only for Granted. It aliases the
	// buffer passed to Take (r.Parts for TakeInto).
	Parts []Part
}

// Take takes n (>= 1) units at time now (unix ns) from the credits active at
// now, earliest until first, ties by creation order; all or nothing. Parts
// is built as append(buf[:0], ...): a buf with capacity NumCredits() keeps
// every Take allocation free, capacity 1 the common single-credit one. A
// denial's Parts is buf[:0].
//
// The common case, the first non-empty active credit covering n, is one
// compare-and-swap and takes no lock; with a single credit it touches no
// memory outside the License.
//
// Take is inlined into its caller, so that the Result is built in the
// caller's frame; see TakeInto for a cheaper way still.
func (l *License) Take(n, now int64, buf []Part) (r Result) {
	r.Parts = buf
	l.TakeInto(&r, n, now)
	return r
}

// TakeInto is Take with the result written to *r and r.Parts as the buffer:
// the parts are append(r.Parts[:0], ...). Keep one Result per request or
// goroutine, with Parts set once to a buffer of the capacity Take wants.
//
// It exists because a Result (40 bytes) is larger than the structs Go keeps
// in registers (32 bytes): a caller of a function returning one stores the
// result registers to its stack and copies them with 16-byte moves, and the
// first of those loads waits for the stores to reach the cache (store-to-load
// forwarding cannot combine two stores). BenchmarkDecideSteps measures what
// that costs a decision.
func (l *License) TakeInto(r *Result, n, now int64) {
	// The common case only, in a frame of its own: with the slow path's
	// locals in it, every decision paid for a 216-byte frame.
	if c := &l.c0; n >= 1 && l.flags.Load()&flagAlone != 0 && c.active(now) && cap(r.Parts) > 0 {
		for b := c.balance.Load(); b >= n; b = c.balance.Load() {
			if c.balance.CompareAndSwap(b, b-n) {
				r.Outcome, r.Remaining, r.Parts = Granted, b-n, r.Parts[:1]
				r.Parts[0] = Part{Units: n}
				return
			}
		}
	}
	l.takeInto(r, n, now)
}

// takeInto is TakeInto when its common case does not apply.
func (l *License) takeInto(r *Result, n, now int64) {
	if n < 1 {
		panic(fmt.Sprintf("BUG: shard: take of %d units", n))
	}
	// The slow path builds its parts in this frame and copies them into r.Parts: storing
	// anything derived from r.Parts back through r would make the caller's buffer escape to
	// the heap, and the caller's stack buffer is the point of passing one.
	var local [4]Part
	res := l.take(n, now, local[:0])
	r.Outcome, r.Remaining = res.Outcome, res.Remaining
	copy(r.setParts(len(res.Parts)), res.Parts)
}

// setParts makes r.Parts n long, reusing its buffer when it is large enough, and returns it.
func (r *Result) setParts(n int) []Part {
	if cap(r.Parts) >= n {
		r.Parts = r.Parts[:n]
	} else {
		r.Parts = make([]Part, n)
	}
	return r.Parts
}

// take is the fast path over the whole credit set: find the first non-empty
// active credit in take order and CAS n units out of it if it holds them.
func (l *License) take(n, now int64, buf []Part) Result {
	s := l.set.Load()
	for _, c := range s.order {
		if !c.active(now) {
			continue
		}
		for {
			b := c.balance.Load()
			if b == 0 {
				break // empty: the next credit is the first non-empty one
			}
			if b < n {
				return l.slow(s, n, now, buf)
			}
			if c.balance.CompareAndSwap(b, b-n) {
				parts := append(buf[:0], Part{Credit: c.index, Units: n})
				return Result{Outcome: Granted, Remaining: s.remainingAfter(c, b-n, now), Parts: parts}
			}
		}
	}
	return l.slow(s, n, now, buf)
}

// remainingAfter is remaining(now) when c was just left with b units, without
// loading c again.
func (s *creditSet) remainingAfter(c *credit, b, now int64) int64 {
	for _, d := range s.order {
		if d != c && d.active(now) {
			b += d.balance.Load()
		}
	}
	return b
}

// Test hooks, nil outside tests: the interleavings that the spill lock and
// the lk.spills sequence lock exist for are too narrow to hit by chance.
var (
	testHookSpill    func() // on entering spill, before lk.mu
	testHookGathered func() // in gather, after each active credit
)

// slow serves every Take the fast path could not: the first non-empty active
// credit holds fewer than n units, or none holds any. It first tries to deny
// without the lock, from a sum read while no spiller held units (a sequence
// check on lk.spills, invariant 4 of spill); only a Take that may succeed, or
// that raced a spiller, goes on to spill.
func (l *License) slow(s *creditSet, n, now int64, buf []Part) Result {
	if gen := s.lk.spills.Load(); gen%2 == 0 {
		if r := s.denial(now); r.Remaining < n && s.lk.spills.Load() == gen {
			return r
		}
	}
	return l.spill(n, now, buf)
}

// spill serves a Take that may need units from several credits.
//
// Invariants:
//
//  1. 0 <= balance <= total for every credit, at every instant: units leave a
//     credit only by a CAS from b to b-k with k <= b, and come back only by
//     give, which refuses to pass total.
//  2. All or nothing: a Take either moves exactly n units out of the active
//     credits and reports where from, or leaves every balance as it found it.
//  3. Units may be held in passing (taken, possibly to be given back) only by
//     the one spiller holding lk.mu, and lk.spills is odd while it does.
//     Fast-path takers move units in a single CAS and never hold any.
//  4. An Exhausted answer rests on a sum of balances read while no spiller
//     held units (lk.mu held, or lk.spills even and unchanged around the
//     reads), so one spiller's passing hold can never deny another taker.
//
// Stages, all under lk.mu:
//
//  1. Reload the credit set; AddCredit shares lk.mu, so it is stable here.
//  2. Pre-check: sum the active balances; deny when they fall short, having
//     written nothing.
//  3. Mark the hold (lk.spills odd) and walk the credits in take order,
//     taking min(balance, still needed) from each with a CAS loop.
//  4. If the walk gathered n units, the take is granted. Otherwise fast-path
//     takers drained credits after stage 2: give every part back.
//  5. Mark the hold over (lk.spills even). If stage 4 gave back, go round
//     again from stage 2: a lost round means other takers consumed units,
//     so the loop ends (lock-free: some taker always progresses).
//
// Rejected design: spilling with CAS alone, no lock. Two spillers of one
// license can then each hold part of what the other needs: with 6 units left
// over two credits (3 + 3) and two takers of 4, each takes 3 from a different
// credit, finds the other empty, gives back and is denied, although either
// alone would have been granted. Retrying turns that false denial into a
// livelock, and backing off only makes it rarer. Reserving the sum up front
// instead (a per-license total counter) would put a second shared write on
// every fast-path take. Serializing only the spillers costs the fast path
// nothing: spills are rare (a credit runs dry, or one request is larger than
// what the first credit holds) and the lock is per license.
func (l *License) spill(n, now int64, buf []Part) Result {
	if testHookSpill != nil {
		testHookSpill()
	}
	lk := l.set.Load().lk
	lk.mu.Lock()
	defer lk.mu.Unlock()
	s := l.set.Load()
	for {
		if r := s.denial(now); r.Remaining < n {
			return r
		}
		if parts, ok := l.gather(s, n, now, buf); ok {
			return Result{Outcome: Granted, Remaining: s.remaining(now), Parts: parts}
		}
	}
}

// gather is stages 3 to 5 of spill: take n units greedily in take order, or
// give back whatever it took. lk.mu must be held.
func (l *License) gather(s *creditSet, n, now int64, buf []Part) ([]Part, bool) {
	s.lk.spills.Add(1)
	defer s.lk.spills.Add(1)
	parts, need := buf[:0], n
	for _, c := range s.order {
		if need == 0 {
			break
		}
		if !c.active(now) {
			continue
		}
		if got := c.takeUpTo(need); got > 0 {
			parts = append(parts, Part{Credit: c.index, Units: got})
			need -= got
		}
		if testHookGathered != nil {
			testHookGathered()
		}
	}
	if need > 0 {
		s.give(parts)
		return nil, false
	}
	return parts, true
}

// denial is the answer to a Take that cannot be granted from s at now.
func (s *creditSet) denial(now int64) Result {
	sum, active, future := int64(0), false, false
	for _, c := range s.order {
		switch {
		case c.active(now):
			active = true
			sum += c.balance.Load()
		case c.from > now:
			future = true
		}
	}
	switch {
	case active:
		return Result{Outcome: Exhausted, Remaining: sum}
	case future:
		return Result{Outcome: NotYetValid}
	default:
		return Result{Outcome: Expired}
	}
}

// Give returns the units of a granted take, as when the WAL append that
// should have recorded it fails. Giving back more than was taken panics.
func (l *License) Give(parts []Part) {
	l.set.Load().give(parts)
}

func (s *creditSet) give(parts []Part) {
	for _, p := range parts {
		if p.Credit < 0 || int(p.Credit) >= len(s.byIndex) {
			panic(fmt.Sprintf("BUG: shard: give to credit %d of %d", p.Credit, len(s.byIndex)))
		}
		s.byIndex[p.Credit].give(p.Units)
	}
}
