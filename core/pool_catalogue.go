package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/order"
	"github.com/meterd/meterd/core/pool"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// With POOL_ENDPOINTS set, products and licenses live in the pool: provisioning writes there,
// from any agent, and every agent mirrors what the pool holds into its own log (a Product
// record, a PoolLicense record for a license or its new credits) before it decides with it.

// mirror makes products and licenses read from the pool live here, logging what is new.
func (e *Engine) mirror(products map[string]pool.Product, licenses map[string]pool.License) error {
	e.provMu.Lock()
	defer e.provMu.Unlock()
	ids := make([]string, 0, len(products))
	for id := range products {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := products[id].Product()
		if ref := e.products[id]; ref != nil && *ref.p.Load() == p {
			continue
		}
		rec := record.Product{Time: e.nowNS(), Product: p}
		if _, err := e.appendRecord(rec.AppendTo(nil)); err != nil {
			return err
		}
		e.installProduct(p)
	}
	ls := make([]pool.License, 0, len(licenses))
	for _, l := range licenses {
		ls = append(ls, l)
	}
	slices.SortFunc(ls, func(a, b pool.License) int { return int(a.Created - b.Created) })
	for _, pl := range ls {
		if err := e.mirrorLicense(pl); err != nil {
			return err
		}
	}
	return nil
}

// mirrorLicense logs and installs a pooled license, or the credits it gained. provMu is held.
func (e *Engine) mirrorLicense(pl pool.License) error {
	ref := e.products[pl.ProductID]
	if ref == nil {
		return fmt.Errorf("pooled license %s names product %s, which the pool does not hold", pl.ID, pl.ProductID)
	}
	l := e.lookup(pl.ID)
	if l != nil && l.id != pl.ID {
		l = nil
	}
	if l != nil && l.pool == nil {
		return fmt.Errorf("pooled license %s has the id of a license of this agent's own", pl.ID)
	}
	known := 0
	if l != nil {
		known = len(*l.credits.Load())
	}
	if len(pl.Credits) <= known {
		return nil
	}
	meta := &record.PoolMeta{Owner: pl.Owner, Item: pl.Item, ProductID: pl.ProductID, Created: pl.Created, First: known}
	for _, c := range pl.Credits[known:] {
		meta.Credits = append(meta.Credits, record.Credit{ID: c.ID, TxItemID: c.TxItemID, Window: c.Window(), UseCount: c.UseCount})
	}
	rec := record.Pool{Op: record.PoolLicense, Time: e.nowNS(), Epoch: e.pool.epoch(), License: pl.ID, Meta: meta}
	if _, err := e.appendRecord(rec.AppendTo(nil)); err != nil {
		return err
	}
	if l == nil {
		if other := e.lookup(ownerItemKey(pl.Owner, pl.Item)); other != nil {
			return fmt.Errorf("pooled license %s: %s already has license %s for %q", pl.ID, pl.Owner, other.id, pl.Item)
		}
		// installLicense, with the pooled part set before the table publishes the license
		l = newLicense(e.table.NewLicense(pl.ID), pl.Owner, pl.Item, pl.Created, ref)
		l.pool = newPooled(e.lowWaterMark(), nil)
		e.table.Put(pl.ID, l.ctr)
		e.table.Put(ownerItemKey(pl.Owner, pl.Item), l.ctr)
		e.byOwner[pl.Owner] = append(e.byOwner[pl.Owner], l)
	}
	for _, c := range meta.Credits { // each starts with nothing held here: the refiller's moved grows to it
		l.addCredit(creditMeta{ID: c.ID, TxItemID: c.TxItemID, Window: c.Window}, c.UseCount, c.UseCount)
	}
	return nil
}

// lowWaterMark: the next block is leased once fewer than half a block remain.
func (e *Engine) lowWaterMark() int64 { return max(int64(e.cfg.PoolBlock)/2, 1) }

// poolCall bounds a provisioning call's work on the pool.
const poolCall = 10 * time.Second

func poolErr(err error) error {
	if errors.Is(err, pool.ErrUnavailable) || errors.Is(err, pool.ErrConflict) {
		return fmt.Errorf("%w: %v", ErrPoolUnavailable, err)
	}
	return err
}

// putPooledProduct is PutProduct with a pool.
func (e *Engine) putPooledProduct(p Product) (Product, error) {
	ctx, cancel := context.WithTimeout(context.Background(), poolCall)
	defer cancel()
	same := false
	err := e.pool.store.PutProduct(ctx, pool.FromProduct(p), func(old *pool.Product, cat *pool.Catalogue) error {
		if old == nil {
			return nil
		}
		if old.Product() == p {
			same = true
			return errSame
		}
		if old.LicensedItem != p.LicensedItem {
			for _, l := range cat.Licenses {
				if l.ProductID == p.ID {
					return conflictf("product %s has licenses for item %q; its licensedItem cannot change", p.ID, old.LicensedItem)
				}
			}
		}
		return nil
	})
	if err != nil && !same {
		return Product{}, poolErr(err)
	}
	if err := e.mirror(map[string]pool.Product{p.ID: pool.FromProduct(p)}, nil); err != nil {
		return Product{}, err
	}
	return p, nil
}

var errSame = errors.New("unchanged")

// provisionPooled is Provision with a pool: planned from the pool's catalogue and committed
// there in one transaction, planned again when another agent got in first.
func (e *Engine) provisionPooled(o *order.Checked) (Transaction, error) {
	ctx, cancel := context.WithTimeout(context.Background(), poolCall)
	defer cancel()
	st := e.pool.store
	for range 16 {
		if prev, err := st.Transaction(ctx, o.ExternalID); err != nil {
			return Transaction{}, poolErr(err)
		} else if prev != nil {
			return e.pooledAnswer(o, prev)
		}
		cat, err := st.Catalogue(ctx)
		if err != nil {
			return Transaction{}, poolErr(err)
		}
		prov, tx, err := e.planPooled(ctx, o, cat)
		if err != nil {
			return Transaction{}, err
		}
		ok, err := st.Commit(ctx, cat, prov)
		if err != nil {
			return Transaction{}, poolErr(err)
		}
		if ok {
			ls := make(map[string]pool.License, len(prov.Licenses))
			for _, l := range prov.Licenses {
				ls[l.ID] = l
			}
			return *tx, e.mirror(nil, ls)
		}
	}
	return Transaction{}, fmt.Errorf("%w: the pool kept changing while this transaction was planned", ErrPoolUnavailable)
}

// pooledAnswer is the first answer stored for a resent externalId, or ErrConflict.
func (e *Engine) pooledAnswer(o *order.Checked, stored []byte) (Transaction, error) {
	st, err := record.DecodeState(record.TxKey(o.ExternalID), stored)
	if err != nil || st.Tx == nil {
		return Transaction{}, fmt.Errorf("pool: transaction %s: %w", o.ExternalID, err)
	}
	if st.Tx.Hash != o.Hash {
		return Transaction{}, conflictf("externalId %q was used for a different transaction", o.ExternalID)
	}
	return *st.Tx.Tx, nil
}

// planPooled builds the licenses o changes, as they will be, and its first answer.
func (e *Engine) planPooled(ctx context.Context, o *order.Checked, cat *pool.Catalogue) (pool.Provision, *Transaction, error) {
	now := e.nowNS()
	prov := pool.Provision{ExternalID: o.ExternalID}
	touched := map[string]*pool.License{} // by licensed item
	tx := &Transaction{ID: licensing.NewID(), Type: o.Type, ExternalID: o.ExternalID, Processed: unixTime(now)}
	type itemPlan struct {
		it      TransactionItem
		license *pool.License
		product Product
	}
	var plans []itemPlan
	for i, it := range o.Items {
		pp, ok := cat.Products[it.ProductID]
		if !ok {
			return prov, nil, invalidf("items[%d]: unknown productId %q", i, it.ProductID)
		}
		p := pp.Product()
		if it.Quantity > maxUseCount/p.CreditAmount {
			return prov, nil, invalidf("items[%d]: quantity × creditAmount exceeds %d", i, int64(maxUseCount))
		}
		w := Window{From: unixTime(now), Until: it.Until, Open: !it.HasUntil}
		if it.HasFrom {
			w.From = it.From
		}
		if !w.Open && !w.Until.After(w.From) {
			return prov, nil, invalidf("items[%d]: licenseValidUntil must be after licenseValidFrom", i)
		}
		l := touched[p.LicensedItem]
		if l == nil {
			if old := cat.ByItem(o.Owner, p.LicensedItem); old != nil {
				l = old
			} else {
				l = &pool.License{ID: licensing.NewID(), Owner: o.Owner, Item: p.LicensedItem, ProductID: p.ID, Created: now}
			}
			touched[p.LicensedItem] = l
		}
		useCount := it.Quantity * p.CreditAmount
		var total int64
		for _, c := range l.Credits {
			total += c.UseCount
		}
		switch {
		case useCount > maxLicenseTotal-total:
			return prov, nil, invalidf("items[%d]: the license would hold %d + %d units, over the most one license may hold (%d)", i, total, useCount, int64(maxLicenseTotal))
		case len(l.Credits) >= maxCredits:
			return prov, nil, invalidf("items[%d]: the license already has %d credits, the most one license may have", i, maxCredits)
		}
		txItem := licensing.NewID()
		l.Credits = append(l.Credits, pool.CreditOf(licensing.NewID(), txItem, w, useCount))
		plans = append(plans, itemPlan{TransactionItem{ID: txItem, ExternalID: it.ExternalID, ProductID: p.ID, Quantity: it.Quantity, Window: w}, l, p})
	}
	for _, l := range touched {
		prov.Licenses = append(prov.Licenses, *l)
	}
	for _, pl := range plans {
		used := e.poolUsed(ctx, pl.license.ID, len(pl.license.Credits))
		pl.it.License = pooledView(*pl.license, pl.product, used, now)
		tx.Items = append(tx.Items, pl.it)
	}
	rt := record.Tx{Owner: o.Owner, Hash: o.Hash, Tx: tx}
	prov.Answer = rt.AppendTo(nil)
	return prov, tx, nil
}

// poolUsed is the pool-wide consumption of each of n credits of license: every agent's last
// report, this agent's live count in place of its own. A license the pool does not hold yet has
// none.
func (e *Engine) poolUsed(ctx context.Context, id string, n int) []int64 {
	used := make([]int64, n)
	l := e.lookup(id)
	if l == nil || l.id != id || l.pool == nil {
		return used
	}
	t := e.refreshTotals(ctx, l)
	mine := e.pool.agentID()
	if t != nil {
		for agent, h := range t.Holdings {
			if agent == mine {
				continue
			}
			for i := range min(n, len(h.Used)) {
				used[i] += h.Used[i]
			}
		}
	}
	e.pool.mu.Lock()
	loc := l.pool.local(l)
	e.pool.mu.Unlock()
	for i := range min(n, len(loc.Used)) {
		used[i] += loc.Used[i]
	}
	return used
}

func (r *poolRun) agentID() string { return r.e.apply.d.agentID }

// refreshTotals reads l's totals from the pool; when the pool does not answer, the last ones
// read stand (nil if none).
func (e *Engine) refreshTotals(ctx context.Context, l *license) *pool.Totals {
	ctx, cancel := context.WithTimeout(ctx, poolOpTimeout/2)
	defer cancel()
	if t, err := e.pool.store.Totals(ctx, l.id); err == nil {
		l.pool.totals.Store(&t)
	}
	return l.pool.totals.Load()
}

// pooledView is a pooled license in the API's shape, with the pool-wide counts used.
func pooledView(pl pool.License, p Product, used []int64, now int64) LicenseView {
	cvs := make([]creditView, len(pl.Credits))
	for i, c := range pl.Credits {
		from, until := c.Window().NS()
		cvs[i] = creditView{creditMeta{c.ID, c.TxItemID, c.Window()}, shard.CreditState{From: from, Until: until, Total: c.UseCount, Used: used[i]}}
	}
	return licenseView(pl.ID, pl.Owner, pl.Item, p, cvs, now)
}

// pooledLicenseView is view for a pooled license: the pool's counts, read now when the pool
// answers within half a second, else as last read (and this agent's own, live).
func (e *Engine) pooledLicenseView(l *license, now int64) LicenseView {
	metas := *l.credits.Load()
	used := e.poolUsed(context.Background(), l.id, len(metas))
	cvs := make([]creditView, len(metas))
	for i, m := range metas {
		c := l.ctr.Credit(i)
		c.Used = used[i]
		cvs[i] = creditView{m, c}
	}
	return licenseView(l.id, l.owner, l.item, *l.product.p.Load(), cvs, now)
}
