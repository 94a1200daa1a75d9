package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meterd/meterd/core/pool"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// ErrPoolUnavailable: the shared pool (etcd) did not answer; nothing changed, or, for a
// provisioning call, it is unknown whether the transaction was stored: sending it again with
// the same externalId is safe.
var ErrPoolUnavailable = fmt.Errorf("%w: the shared pool (etcd) did not answer", ErrUnavailable)

// poolRun is an agent's membership of a shared pool: the refiller that leases blocks, reports
// consumption and settles with the pool, and the watcher that mirrors the pool's products and
// licenses into this agent's log and live tables.
type poolRun struct {
	e     *Engine
	store *pool.Store
	block int64

	mu    sync.Mutex  // block operations: one at a time, so that the log and the pool stay in step
	agent *pool.Agent // the incarnation joined; replaced when fenced (mu)

	kicks chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
}

// reportEvery is how often each agent tells the pool how much it consumed (when it did): the
// freshness of GET .../licenses, and the most an eviction can release that was in fact used.
const reportEvery = time.Second

// poolOpTimeout bounds one etcd call of a block operation.
const poolOpTimeout = time.Second

func (r *poolRun) kick() {
	select {
	case r.kicks <- struct{}{}:
	default:
	}
}

// openPool joins the pool at start-up, after recovery and before the first request: it takes
// its epoch (dropping what an eviction released), mirrors the catalogue and settles every
// pooled license with what its log says it holds.
func (e *Engine) openPool(prefix string) error {
	d := e.apply.d
	if e.cfg.PoolEndpoints == "" {
		if len(d.held) > 0 {
			return fmt.Errorf("%s: this data directory holds blocks of a shared pool: set POOL_ENDPOINTS to its etcd cluster", e.cfg.DataDir)
		}
		return nil
	}
	for id := range d.licenses {
		if d.held[id] == nil {
			return fmt.Errorf("%s: this data directory holds licenses provisioned without a pool; a pooled agent starts on a data directory of its own", e.cfg.DataDir)
		}
	}
	store, err := pool.Open(pool.Config{Endpoints: e.cfg.Endpoints(), Prefix: prefix, TTL: e.cfg.PoolLeaseTTL, OpTimeout: poolOpTimeout})
	if err != nil {
		return err
	}
	r := &poolRun{e: e, store: store, block: int64(e.cfg.PoolBlock), kicks: make(chan struct{}, 1), stop: make(chan struct{})}
	e.pool = r
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.join(ctx, d.poolEpoch); err != nil {
		store.Close()
		return fmt.Errorf("pool %s: %w", e.cfg.PoolEndpoints, err)
	}
	cat, err := store.Catalogue(ctx)
	if err == nil {
		err = e.mirror(cat.Products, cat.Licenses)
	}
	for _, l := range e.pooledLicenses() {
		if err != nil {
			break
		}
		err = r.settle(ctx, l)
	}
	if err != nil {
		r.agent.Leave(ctx)
		store.Close()
		return fmt.Errorf("pool %s: %w", e.cfg.PoolEndpoints, err)
	}
	r.wg.Add(2)
	go r.refiller()
	go r.watch(cat.Revision)
	return nil
}

// join takes this agent's place in the pool under the epoch its log knows; when the pool says
// it was evicted, it drops every unit it held (they were released) before writing anything.
func (r *poolRun) join(ctx context.Context, known uint64) error {
	a, j, err := r.store.Join(ctx, r.e.apply.d.agentID, known)
	if err != nil {
		return err
	}
	if j.Fenced {
		r.e.logger.Warn("this agent was evicted from the pool: the blocks it held were released and are dropped unspent",
			"epoch", known, "new_epoch", j.Epoch)
		for _, l := range r.e.pooledLicenses() {
			if err := r.drop(l, record.ReturnFenced); err != nil {
				return err
			}
		}
	}
	if j.Epoch != known {
		rec := record.Pool{Op: record.PoolEpoch, Time: r.e.nowNS(), Epoch: j.Epoch}
		if _, err := r.e.appendRecord(rec.AppendTo(nil)); err != nil {
			return err
		}
	}
	r.agent = a
	return nil
}

// pooledLicenses lists the live pooled licenses.
func (e *Engine) pooledLicenses() []*license {
	e.provMu.RLock()
	defer e.provMu.RUnlock()
	var out []*license
	for _, ls := range e.byOwner {
		for _, l := range ls {
			if l.pool != nil {
				out = append(out, l)
			}
		}
	}
	return out
}

// drop takes every unit l holds out of its live counters and logs them given back for reason
// (synced: a return must be durable before the pool may hand the units to another agent).
// Units of credits no longer active cannot be taken, and can never be granted: they are
// logged given back as they are. r.mu is held, or the refiller is not running.
func (r *poolRun) drop(l *license, reason record.ReturnReason) error {
	e := r.e
	now := e.nowNS()
	p := l.pool
	p.grow(l)
	taken := make([]int64, len(p.moved))
	for {
		rem := l.ctr.Remaining(now)
		if rem == 0 {
			break
		}
		res := l.ctr.Take(rem, now, make([]shard.Part, 0, l.ctr.NumCredits()))
		if res.Outcome == shard.Granted {
			for _, part := range res.Parts {
				taken[part.Credit] += part.Units
			}
		}
	}
	for i := range taken {
		if c := l.ctr.Credit(i); !(c.From <= now && now < c.Until) {
			taken[i] += c.Total - c.Used // an inactive credit's balance, never to be granted
		}
	}
	for i, n := range taken {
		if n == 0 {
			continue
		}
		rec := record.Pool{Op: record.PoolReturn, Time: now, Epoch: r.epoch(), License: l.id, Credit: int32(i), Units: n, Reason: reason}
		if _, err := e.appendRecord(rec.AppendTo(nil)); err != nil {
			l.ctr.Give(activeParts(taken[:i+1], l, now)) // nothing after i was logged
			return err
		}
		p.moved[i] -= n
		taken[i] = 0
	}
	return e.log.Sync()
}

// activeParts are the parts of taken that came from active credits, to give back.
func activeParts(taken []int64, l *license, now int64) []shard.Part {
	var parts []shard.Part
	for i, n := range taken {
		if c := l.ctr.Credit(i); n > 0 && c.From <= now && now < c.Until {
			parts = append(parts, shard.Part{Credit: int32(i), Units: n})
		}
	}
	return parts
}

func (r *poolRun) epoch() uint64 {
	if r.agent == nil {
		return 0
	}
	return r.agent.Epoch()
}

// settle brings the pool's count of what this agent holds of l in step with its log, dropping
// first what the pool no longer holds for it. r.mu is held, or the refiller is not running.
func (r *poolRun) settle(ctx context.Context, l *license) error {
	h, err := r.agent.Holding(ctx, l.id)
	if err != nil {
		return err
	}
	l.pool.grow(l)
	for i, m := range l.pool.moved {
		if i >= len(h.Held) || h.Held[i] < m {
			if err := r.drop(l, record.ReturnReconcile); err != nil {
				return err
			}
			break
		}
	}
	st, err := r.agent.Settle(ctx, l.id, l.pool.local(l))
	if err != nil {
		return err
	}
	var returned, debt int64
	for i := range st.Returned {
		returned, debt = returned+st.Returned[i], debt+st.Debt[i]
	}
	if debt > 0 {
		r.e.logger.Error("this agent granted units of a pooled license after an eviction had released them: the pool is overspent by them",
			"license", l.id, "units", debt)
	}
	if returned > 0 {
		r.e.logger.Info("pool settled: units the pool held for this agent beyond its log went back", "license", l.id, "units", returned)
	}
	return nil
}

// refiller leases blocks when a license runs low or a consume waits, and reports consumption.
func (r *poolRun) refiller() {
	defer r.wg.Done()
	tick := time.NewTicker(reportEvery)
	defer tick.Stop()
	for {
		report := false
		select {
		case <-r.stop:
			return
		case <-r.kicks:
		case <-tick.C:
			report = true
		}
		for _, l := range r.e.pooledLicenses() {
			r.tend(l, report)
		}
	}
}

// tend refills l if it runs low (or a consume asked), and reports its consumption when due.
func (r *poolRun) tend(l *license, report bool) {
	p := l.pool
	now := r.e.nowNS()
	asked := p.want.Swap(false)
	if !asked && l.ctr.Remaining(now) >= p.low.Load() {
		if report {
			r.report(l)
		}
		return
	}
	st := r.refill(l, now)
	p.finish(st)
	if st == poolUnreachable {
		p.want.Store(true) // try again at the next tick
	}
}

// refill leases blocks until l holds at least its low-water mark plus a block, or the pool has
// no more, or cannot be reached.
func (r *poolRun) refill(l *license, now int64) poolState {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*poolOpTimeout)
	defer cancel()
	want := r.leaseSize(l, now)
	// A waiting consume asked for need units: hold at least that, in whole blocks.
	need := l.pool.need.Swap(0)
	want = max(want, (need+r.block-1)/r.block*r.block)
	defer func() {
		t := r.e.nowNS()
		l.pool.markAt, l.pool.markHeld = t, l.ctr.Remaining(t)
	}()
	for range 4 {
		if have := l.ctr.Remaining(now); have >= l.pool.low.Load()+want || have >= need && need > 0 {
			return poolOK
		}
		c, n, err := r.agent.Lease(ctx, l.id, want, r.block, time.Unix(0, now), l.pool.local(l))
		switch {
		case err == nil:
			rec := record.Pool{Op: record.PoolLease, Time: now, Epoch: r.agent.Epoch(), License: l.id, Credit: int32(c), Units: n}
			if _, err := r.e.appendRecord(rec.AppendTo(nil)); err != nil {
				return poolUnreachable // the pool holds the block for us; the next lease settles it
			}
			l.pool.moved[c] += n
			l.ctr.Give([]shard.Part{{Credit: int32(c), Units: n}})
			r.e.metrics.PoolLease(n)
		case errors.Is(err, pool.ErrEmpty):
			if l.ctr.Remaining(now) > 0 {
				return poolDry // smaller takes go on here; a waiting one that is still short is exhausted
			}
			return poolEmpty
		case errors.Is(err, pool.ErrOutOfStep):
			if err := r.settle(ctx, l); err != nil {
				return r.failed(err)
			}
		case errors.Is(err, pool.ErrFenced):
			if err := r.refence(ctx); err != nil {
				return r.failed(err)
			}
		default:
			return r.failed(err)
		}
	}
	return poolOK
}

// leaseHorizon is how long a lease should last at the license's rate here, and maxLeaseBlocks
// caps it; POOL_BLOCK is the floor. A fixed block cannot keep up with a fast license (each
// round is an etcd transaction and a logged record, about a millisecond or more), so consumes
// would wait on etcd; leases sized to a second of use make the pool's cost one round a second.
const (
	leaseHorizon   = time.Second
	maxLeaseBlocks = 1000
)

// leaseSize is how many units the next lease of l asks for: what l consumed here since the
// refiller's last round, scaled to leaseHorizon, rounded up to whole blocks, between one block
// and maxLeaseBlocks. It moves l's low-water mark to half of it. The refiller's lock is held.
func (r *poolRun) leaseSize(l *license, now int64) int64 {
	p := l.pool
	want := r.block
	if dt := now - p.markAt; p.markAt != 0 && dt > 0 {
		used := p.markHeld - l.ctr.Remaining(now)
		want = max(want, int64(float64(used)*float64(leaseHorizon)/float64(dt)))
	}
	want = (min(want, maxLeaseBlocks*r.block) + r.block - 1) / r.block * r.block
	p.low.Store(max(want/2, r.e.lowWaterMark()))
	return want
}

// failed logs why a block operation failed and says how the round ended.
func (r *poolRun) failed(err error) poolState {
	if ok, held := r.e.walLog.Allow(r.e.clock()); ok {
		r.e.logger.Warn("pool: block operation failed; granting only from blocks held", "err", err, "suppressed", held)
	}
	return poolUnreachable
}

// refence joins again after a write found this incarnation evicted. r.mu is held.
func (r *poolRun) refence(ctx context.Context) error {
	old := r.agent
	if err := r.join(ctx, old.Epoch()); err != nil {
		return err
	}
	for _, l := range r.e.pooledLicenses() {
		if err := r.settle(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// report tells the pool what l consumed here, when that changed since the pool last heard.
func (r *poolRun) report(l *license) {
	r.mu.Lock()
	defer r.mu.Unlock()
	loc := l.pool.local(l)
	if t := l.pool.totals.Load(); t != nil {
		if h, ok := t.Holdings[r.agent.ID()]; ok && equal(h.Used, loc.Used) {
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), poolOpTimeout)
	defer cancel()
	if _, err := r.agent.Settle(ctx, l.id, loc); err != nil {
		r.failed(err)
		return
	}
	r.e.refreshTotals(ctx, l)
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// watch mirrors the pool's products and licenses as they are written, reading the whole
// catalogue again whenever the watch breaks.
func (r *poolRun) watch(from int64) {
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-r.stop; cancel() }()
	for ctx.Err() == nil {
		err := r.store.Watch(ctx, from, func(ch pool.Change) {
			var err error
			switch {
			case ch.Product != nil:
				err = r.e.mirror(map[string]pool.Product{ch.Product.ID: *ch.Product}, nil)
			case ch.License != nil:
				err = r.e.mirror(nil, map[string]pool.License{ch.License.ID: *ch.License})
			}
			if err != nil {
				r.e.logger.Error("pool: mirroring a change failed", "err", err)
			}
			from = ch.Revision
		})
		if ctx.Err() != nil {
			return
		}
		r.e.logger.Debug("pool: watch ended; reading the catalogue again", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second / 4):
		}
		cat, err := r.store.Catalogue(ctx)
		if err != nil {
			continue
		}
		if err := r.e.mirror(cat.Products, cat.Licenses); err != nil {
			r.e.logger.Error("pool: mirroring the catalogue failed", "err", err)
		}
		from = cat.Revision
	}
}

// closePool runs when the engine closes, after the last call has ended: the refiller stops,
// every unit held goes back to the pool, and the membership ends. Units the pool cannot take
// back now stay reserved for this agent, which settles them at its next start.
func (e *Engine) closePool() error {
	r := e.pool
	if r == nil {
		return nil
	}
	close(r.stop)
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, l := range e.pooledLicenses() {
		if err := r.drop(l, record.ReturnShutdown); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := r.agent.Settle(ctx, l.id, l.pool.local(l)); err != nil {
			e.logger.Warn("pool: units could not be returned now; they stay reserved for this agent until its next start",
				"license", l.id, "err", err)
		}
	}
	r.agent.Leave(ctx)
	r.store.Close()
	return errors.Join(errs...)
}
