package core

import (
	"sync/atomic"

	"github.com/meterd/meterd/shard"
)

// productRef lets licenses follow a product's license model when PUT /products changes it.
type productRef struct {
	p atomic.Pointer[Product]
}

// license is one license of an owner for a licensed item: the metadata the API shows, plus
// the live counters that decide.
type license struct {
	id      string
	owner   string
	item    string
	created int64
	product *productRef
	ctr     *shard.License
	credits atomic.Pointer[[]creditMeta] // index = the credit's index in ctr; copy-on-write
	pool    *pooled                      // nil: the license lives in this agent alone
}

// creditMeta is what a credit is, beside its live balance in shard: shard decides with the
// window in saturated nanoseconds, the API shows it exactly as ordered.
type creditMeta struct {
	ID       string
	TxItemID string
	Window   Window
}

// newLicense wraps ctr, a shard.License with no credits, which names the license's id.
func newLicense(ctr *shard.License, owner, item string, created int64, p *productRef) *license {
	l := &license{id: ctr.ID(), owner: owner, item: item, created: created, product: p, ctr: ctr}
	l.ctr.SetValue(l)
	l.credits.Store(new([]creditMeta))
	return l
}

// addCredit appends a credit; callers serialise (provisioning or recovery).
func (l *license) addCredit(m creditMeta, useCount, used int64) {
	from, until := m.Window.NS()
	if i := l.ctr.AddCredit(from, until, useCount, used); i != len(*l.credits.Load()) {
		panic("BUG: credit index and credit metadata out of step")
	}
	old := *l.credits.Load()
	next := append(old[:len(old):len(old)], m)
	l.credits.Store(&next)
}

// creditView is one credit: what it is and its live state.
type creditView struct {
	creditMeta
	shard.CreditState
}

// creditViews snapshots the credits with their live counts.
func (l *license) creditViews() []creditView {
	metas := *l.credits.Load()
	out := make([]creditView, len(metas))
	for i, m := range metas {
		out[i] = creditView{m, l.ctr.Credit(i)}
	}
	return out
}

// view snapshots the license with live counts at now.
func (l *license) view(now int64) LicenseView {
	return licenseView(l.id, l.owner, l.item, *l.product.p.Load(), l.creditViews(), now)
}

// licenseView builds the view of a license of item for owner, from product p, with credits
// as of now: whether each is active is decided as shard decides it.
func licenseView(id, owner, item string, p Product, credits []creditView, now int64) LicenseView {
	v := LicenseView{ID: id, Owner: owner, Item: item, ProductID: p.ID, ProductName: p.Name, Mode: p.Mode,
		Credits: make([]CreditView, len(credits)), At: unixTime(now)}
	for i, c := range credits {
		v.Credits[i] = CreditView{ID: c.ID, TransactionItemID: c.TxItemID, Window: c.Window,
			UseCount: c.Total, CountUsed: c.Used, Active: c.From <= now && now < c.Until}
	}
	return v
}
