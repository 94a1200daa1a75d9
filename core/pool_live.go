package core

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd/core/pool"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// pooled is the live side of a pooled license: what the refiller knows of the units moved here
// and how its last attempt to lease more went. The consume path reads only low, state and the
// wait channel; everything else belongs to the refiller (poolRun.mu).
type pooled struct {
	// low: below this many units held for active credits, lease the next block; half the
	// last lease's size, which follows the license's rate here (poolRun.leaseSize).
	low atomic.Int64

	// The refiller's measure of the rate: when its last round ended and what was held then.
	markAt   int64
	markHeld int64

	moved []int64 // per credit: units moved here and not given back, consumed ones included

	want atomic.Bool  // a consume asked for a refill
	need atomic.Int64 // the most units a waiting consume asked for: the refill holds at least that

	mu      sync.Mutex
	state   poolState
	tried   time.Time     // when the refiller last finished a round for this license
	roundCh chan struct{} // closed when the refiller finishes its next round for this license

	totals atomic.Pointer[pool.Totals] // the pool's view as last read, for GET
}

// poolState is how the refiller's last round for a license ended.
type poolState uint8

const (
	poolOK          poolState = iota
	poolDry                   // the pool has no free units, but some are still held here
	poolEmpty                 // no active credit of the pool has free units, and none are held here
	poolUnreachable           // etcd did not answer (no quorum, or cut off)
)

func newPooled(low int64, moved []int64) *pooled {
	p := &pooled{moved: moved, roundCh: make(chan struct{})}
	p.low.Store(low)
	return p
}

// round returns the channel the next finished round closes, with the last round's outcome.
func (p *pooled) round() (chan struct{}, poolState, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.roundCh, p.state, p.tried
}

// finish ends a round with state st and wakes whoever waits for one.
func (p *pooled) finish(st poolState) {
	p.mu.Lock()
	p.state, p.tried = st, time.Now()
	close(p.roundCh)
	p.roundCh = make(chan struct{})
	p.mu.Unlock()
}

// grow extends moved to credits added since (with nothing held: a new credit's balance here is
// 0). The refiller's lock is held.
func (p *pooled) grow(l *license) {
	for n := l.ctr.NumCredits(); len(p.moved) < n; {
		p.moved = append(p.moved, 0)
	}
}

// local is what this agent holds of the license, for the pool's compares. The refiller's lock
// is held.
func (p *pooled) local(l *license) pool.Local {
	p.grow(l)
	loc := pool.Local{Moved: append([]int64(nil), p.moved...), Used: make([]int64, len(p.moved))}
	for i := range loc.Moved {
		c := l.ctr.Credit(i)
		loc.Used[i] = loc.Moved[i] - (c.Total - c.Used) // moved minus the balance still here
	}
	return loc
}

// retryQuiet is how long a denial may rest on the refiller's last round instead of waiting
// for a new one: a license that is empty (or a pool out of reach) answers at once rather than
// making every request wait on etcd.
const retryQuiet = 100 * time.Millisecond

// waitRound bounds how long a consume waits for a refill when its license ran short.
const waitRound = 3 * time.Second

// short is called when a take of units from a pooled license fell short. It asks the refiller
// to hold at least units here and waits for its round, unless the last round, a moment ago,
// found the pool empty or out of reach. It returns the outcome to answer with, or Granted to
// say: take again; dry says the pool had no more to lease, so a take that is short again is
// exhausted.
func (e *Engine) short(l *license, units int64) (o shard.Outcome, dry bool) {
	p := l.pool
	ch, st, tried := p.round()
	if st != poolOK && time.Since(tried) < retryQuiet {
		return outcomeOf(st), st == poolDry
	}
	for n := p.need.Load(); units > n && !p.need.CompareAndSwap(n, units); n = p.need.Load() {
	}
	p.want.Store(true)
	e.pool.kick()
	select {
	case <-ch:
	case <-time.After(waitRound):
		return shard.PoolUnavailable, false
	case <-e.closing:
		return shard.PoolUnavailable, false
	}
	_, st, _ = p.round()
	return outcomeOf(st), st == poolDry
}

func outcomeOf(st poolState) shard.Outcome {
	switch st {
	case poolOK, poolDry:
		return shard.Granted
	case poolEmpty:
		return shard.Exhausted
	}
	return shard.PoolUnavailable
}

// lowWater asks for the next block before this one runs out.
func (e *Engine) lowWater(l *license, remaining int64) {
	if remaining < l.pool.low.Load() && !l.pool.want.Swap(true) {
		e.pool.kick()
	}
}

// takePooled follows a take from a pooled license: a grant that leaves it below its low-water
// mark asks for the next block; a take that fell short waits for a refill (unless the pool was
// found empty or out of reach a moment ago) and takes again, or answers exhausted when the
// pool has no more, pool_unavailable when it cannot be reached.
//
// A lease that other consumes emptied before this one could take from it is no answer: the
// take waits for rounds, for at most waitRound (then pool_unavailable), until it is granted
// or a round finds the pool without free units (exhausted).
func (e *Engine) takePooled(l *license, d *record.Decision, res *shard.Result) {
	deadline := time.Now().Add(waitRound)
	for res.Outcome == shard.Exhausted {
		o, dry := e.short(l, d.Units)
		if o != shard.Granted {
			res.Outcome = o
			return
		}
		d.Time = e.nowNS() // the wait took time: the decision is made now
		l.ctr.TakeInto(res, d.Units, d.Time)
		if res.Outcome == shard.Exhausted && dry {
			return // short again, of a pool that has no more
		}
		if res.Outcome == shard.Exhausted && time.Now().After(deadline) {
			res.Outcome = shard.PoolUnavailable
			return
		}
	}
	if res.Outcome == shard.Granted {
		e.lowWater(l, res.Remaining)
	}
}

// view is the license in the API's shape: for a pooled license, with the pool's counts.
func (e *Engine) view(l *license, now int64) LicenseView {
	if l.pool != nil {
		return e.pooledLicenseView(l, now)
	}
	return l.view(now)
}
