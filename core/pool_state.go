package core

import (
	"fmt"
	"strconv"

	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// The durable side of pooled licenses (POOL_ENDPOINTS): what the pool records of the log add up
// to. A pooled license is a record.License whose credits carry the pool's use counts and this
// agent's own consumption (Used), plus d.held: per credit, the units leased to this agent and
// neither consumed nor given back, which is exactly what its live counters may still grant.
// Each lease adds to held, each return and each granted decision takes from it, and a record
// that would take it below zero does not add up (ErrBadRecord): recovery stops rather than
// believe units the pool never gave.

// keyPoolEpoch remembers the epoch this agent last joined the pool under.
var keyPoolEpoch = []byte("m/pool-epoch")

func (d *durable) applyPool(p *record.Pool) error {
	switch p.Op {
	case record.PoolEpoch:
		d.poolEpoch, d.dirty.epoch = p.Epoch, true
		return nil
	case record.PoolLicense:
		return d.applyPoolLicense(p)
	}
	h := d.held[p.License]
	if h == nil {
		return fmt.Errorf("%w: pool record for license %s, which is not pooled", ErrBadRecord, p.License)
	}
	if p.Credit < 0 || int(p.Credit) >= len(h) {
		return fmt.Errorf("%w: pooled license %s has no credit %d", ErrBadRecord, p.License, p.Credit)
	}
	switch p.Op {
	case record.PoolLease:
		h[p.Credit] += p.Units
	case record.PoolReturn:
		if p.Units > h[p.Credit] {
			return fmt.Errorf("%w: license %s credit %d returns %d units but holds %d", ErrBadRecord, p.License, p.Credit, p.Units, h[p.Credit])
		}
		h[p.Credit] -= p.Units
	}
	d.dirty.held[p.License] = struct{}{}
	return nil
}

func (d *durable) applyPoolLicense(p *record.Pool) error {
	m := p.Meta
	l := d.licenses[p.License]
	if l == nil {
		if _, ok := d.byItem[ownerItemKey(m.Owner, m.Item)]; ok {
			return fmt.Errorf("%w: pooled license %s for an owner and item that have a license", ErrBadRecord, p.License)
		}
		l = &record.License{ID: p.License, Owner: m.Owner, Item: m.Item, ProductID: m.ProductID, Created: m.Created}
		d.licenses[l.ID] = l
		d.byItem[ownerItemKey(m.Owner, m.Item)] = l.ID
		d.held[l.ID] = []int64{}
	}
	if d.held[l.ID] == nil || m.First != len(l.Credits) {
		return fmt.Errorf("%w: pool record adds credits from %d to license %s, which has %d", ErrBadRecord, m.First, l.ID, len(l.Credits))
	}
	for _, c := range m.Credits {
		c.Used = 0
		l.Credits = append(l.Credits, c)
		d.held[l.ID] = append(d.held[l.ID], 0)
	}
	d.dirty.licenses[l.ID] = struct{}{}
	d.dirty.held[l.ID] = struct{}{}
	return nil
}

// takeHeld takes a pooled license's granted parts from its held units.
func (d *durable) takeHeld(l *record.License, parts []shard.Part) error {
	h := d.held[l.ID]
	if h == nil {
		return nil
	}
	for _, p := range parts {
		if int(p.Credit) >= len(h) || p.Units > h[p.Credit] {
			return fmt.Errorf("%w: pooled license %s grants units it does not hold", ErrBadRecord, l.ID)
		}
		h[p.Credit] -= p.Units
	}
	d.dirty.held[l.ID] = struct{}{}
	return nil
}

func parseEpoch(v []byte) (uint64, error) { return strconv.ParseUint(string(v), 10, 64) }
