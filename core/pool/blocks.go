package pool

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Local is what an agent's own log says of one pooled license, per credit: the units moved
// to it and not returned (Moved, consumed ones included) and the units it consumed (Used,
// never more than Moved). The pool's held/<license>/<agent> must say the same Moved: a lease
// writes it only once its log will record the block, and a return only after its log has.
type Local struct {
	Moved, Used []int64
}

// ErrOutOfStep: the pool's record of what this agent holds differs from Local; Settle brings
// them back in step before the next lease.
var ErrOutOfStep = fmt.Errorf("pool: held units out of step with the agent's log")

// read is one consistent read of a license's keys.
type read struct {
	lic      License
	free     []int64
	hold     Holding
	licRev   int64
	freeRev  int64
	holdRev  int64 // 0: no held key yet
	revision int64
}

func (a *Agent) read(ctx context.Context, license string) (*read, error) {
	s := a.s
	lk, fk, hk := s.key("license", license), s.key("free", license), s.key("held", license, a.id)
	c, cancel := s.ctx(ctx)
	defer cancel()
	tr, err := s.cli.Txn(c).Then(clientv3.OpGet(lk), clientv3.OpGet(fk), clientv3.OpGet(hk)).Commit()
	if err != nil {
		return nil, unavailable(err)
	}
	r := &read{revision: tr.Header.Revision}
	lr, fr, hr := tr.Responses[0].GetResponseRange(), tr.Responses[1].GetResponseRange(), tr.Responses[2].GetResponseRange()
	if len(lr.Kvs) == 0 || len(fr.Kvs) == 0 {
		return nil, fmt.Errorf("%w: license %s", ErrNotFound, license)
	}
	if err := decode(lk, lr.Kvs[0].Value, &r.lic); err != nil {
		return nil, err
	}
	var f free
	if err := decode(fk, fr.Kvs[0].Value, &f); err != nil {
		return nil, err
	}
	r.licRev, r.freeRev, r.free = lr.Kvs[0].ModRevision, fr.Kvs[0].ModRevision, grown(f.Free, len(r.lic.Credits))
	if len(hr.Kvs) == 1 {
		if err := decode(hk, hr.Kvs[0].Value, &r.hold); err != nil {
			return nil, err
		}
		r.holdRev = hr.Kvs[0].ModRevision
	}
	n := len(r.lic.Credits)
	r.hold.Held, r.hold.Used = grown(r.hold.Held, n), grown(r.hold.Used, n)
	return r, nil
}

// commit writes free and held as r read them, modified, if nothing changed since.
func (a *Agent) commit(ctx context.Context, license string, r *read) (bool, error) {
	s := a.s
	fk, hk := s.key("free", license), s.key("held", license, a.id)
	r.hold.Epoch, r.hold.Reported = a.epoch, time.Now().UnixNano()
	c, cancel := s.ctx(ctx)
	defer cancel()
	tr, err := s.cli.Txn(c).If(a.current(),
		clientv3.Compare(clientv3.ModRevision(fk), "=", r.freeRev),
		clientv3.Compare(clientv3.ModRevision(hk), "=", r.holdRev),
	).Then(clientv3.OpPut(fk, encode(free{r.free})), clientv3.OpPut(hk, encode(r.hold))).
		Else(clientv3.OpGet(s.key("agent", a.id))).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	if tr.Succeeded {
		return true, nil
	}
	if kvs := tr.Responses[0].GetResponseRange().Kvs; len(kvs) == 0 || kvs[0].ModRevision != a.rev {
		a.fenced.Store(true)
		return false, ErrFenced
	}
	return false, nil
}

// Lease moves up to want units of license from free to this agent, from the credit a take at
// now would use first (active, earliest end, then lowest index) among those with free units,
// and returns that credit's index and the units moved. It reports loc.Used on the way. Past
// floor (POOL_BLOCK), a lease takes at most a quarter of the credit's free units: an agent
// sizing its leases to its own rate must not strand much of a pool that is nearly empty, so
// leases shrink to floor as the pool drains.
// ErrEmpty: no active credit has free units. ErrOutOfStep: the pool's held differs from
// loc.Moved (Settle first). ErrUnavailable leaves it unknown whether the lease happened: the
// next Lease finds out (ErrOutOfStep) and Settle returns it.
func (a *Agent) Lease(ctx context.Context, license string, want, floor int64, now time.Time, loc Local) (int, int64, error) {
	if a.fenced.Load() {
		return 0, 0, ErrFenced
	}
	for range maxRetries {
		r, err := a.read(ctx, license)
		if err != nil {
			return 0, 0, err
		}
		if !inStep(r.hold.Held, loc.Moved) {
			return 0, 0, ErrOutOfStep
		}
		c := pick(r, now, len(loc.Moved))
		if c < 0 {
			return 0, 0, ErrEmpty
		}
		units := min(r.free[c], max(floor, min(want, r.free[c]/4)))
		r.free[c] -= units
		r.hold.Held[c] += units
		copy(r.hold.Used, loc.Used)
		ok, err := a.commit(ctx, license, r)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			return c, units, nil
		}
	}
	return 0, 0, ErrConflict
}

func inStep(held, moved []int64) bool {
	for i, h := range held {
		var m int64
		if i < len(moved) {
			m = moved[i]
		}
		if h != m {
			return false
		}
	}
	return len(moved) <= len(held)
}

// pick is the credit a lease comes from, among the first known (those the agent knows of), or -1.
func pick(r *read, now time.Time, known int) int {
	best := -1
	for i, c := range r.lic.Credits[:min(known, len(r.lic.Credits))] {
		w := c.Window()
		active := !now.Before(w.From) && (w.Open || now.Before(w.Until))
		if !active || r.free[i] <= 0 {
			continue
		}
		if best < 0 || earlier(c, r.lic.Credits[best]) {
			best = i
		}
	}
	return best
}

// earlier reports whether credit c ends before d (an open credit never ends).
func earlier(c, d Credit) bool {
	switch {
	case c.Open:
		return false
	case d.Open:
		return true
	}
	return c.Until.Before(d.Until)
}

// Holding reads what the pool says this agent holds of license.
func (a *Agent) Holding(ctx context.Context, license string) (Holding, error) {
	r, err := a.read(ctx, license)
	if err != nil {
		return Holding{}, err
	}
	return r.hold, nil
}

// Settled says what Settle did, per credit.
type Settled struct {
	Returned []int64 // moved from this agent back to free
	Debt     []int64 // consumed by this agent beyond what the pool said it held: taken from free
}

// Settle makes the pool's held units of license equal loc.Moved, and its reported used
// loc.Used. Units the pool says this agent holds beyond loc.Moved go back to free (a block
// returned by the log, or a lease the log never recorded). Where the pool says it holds fewer
// (its blocks were released by an eviction), the caller must first have dropped what it had
// not consumed, so that loc.Moved = loc.Used there: what it consumed beyond the pool's count is
// taken from free as debt, which may leave free negative (the pool was overspent, and says
// by how much).
func (a *Agent) Settle(ctx context.Context, license string, loc Local) (Settled, error) {
	for range maxRetries {
		r, err := a.read(ctx, license)
		if err != nil {
			return Settled{}, err
		}
		n := len(r.lic.Credits)
		st := Settled{Returned: make([]int64, n), Debt: make([]int64, n)}
		for c := range n {
			var moved, used int64
			if c < len(loc.Moved) {
				moved, used = loc.Moved[c], loc.Used[c]
			}
			switch held := r.hold.Held[c]; {
			case held >= moved:
				st.Returned[c] = held - moved
			case moved > used:
				return Settled{}, fmt.Errorf("pool: license %s credit %d: the pool says this agent holds %d, its log %d of which %d unconsumed: drop those first",
					license, c, held, moved, moved-used)
			default:
				st.Debt[c] = moved - held
			}
			r.free[c] += st.Returned[c] - st.Debt[c]
			r.hold.Held[c], r.hold.Used[c] = moved, used
		}
		ok, err := a.commit(ctx, license, r)
		if err != nil {
			return Settled{}, err
		}
		if ok {
			return st, nil
		}
	}
	return Settled{}, ErrConflict
}
