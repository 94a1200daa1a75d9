package core

import (
	"sync/atomic"
	"time"

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
}

// creditMeta is what a credit is, beside its live balance in shard: shard decides with the
// window in saturated nanoseconds, the API shows it exactly as ordered.
type creditMeta struct {
	ID       string
	TxItemID string
	Window   window
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
	from, until := m.Window.ns()
	if i := l.ctr.AddCredit(from, until, useCount, used); i != len(*l.credits.Load()) {
		panic("BUG: credit index and credit metadata out of step")
	}
	old := *l.credits.Load()
	next := append(old[:len(old):len(old)], m)
	l.credits.Store(&next)
}

// licenseJSON is a license in the 10Duke shape.
type licenseJSON struct {
	ID               string       `json:"id"`
	Owner            string       `json:"owner"`
	ValidFrom        *string      `json:"validFrom"`
	ValidUntil       *string      `json:"validUntil"`
	Active           bool         `json:"active"`
	LicensedItem     string       `json:"licensedItem"`
	UseCountConsumed int64        `json:"useCountConsumed"`
	UseCountTotal    int64        `json:"useCountTotal"`
	UseCountCredits  []creditJSON `json:"useCountCredits"`
}

type creditJSON struct {
	ID                       string  `json:"id"`
	ValidFrom                *string `json:"validFrom"`
	ValidUntil               *string `json:"validUntil"`
	Active                   bool    `json:"active"`
	LicenseID                string  `json:"licenseId"`
	LicenseTransactionItemID string  `json:"licenseTransactionItemId"`
	UseCount                 int64   `json:"useCount"`
	CountUsed                int64   `json:"countUsed"`
}

// creditView is one credit as the API shows it.
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

// view renders the license with live counts at now.
func (l *license) view(now int64) licenseJSON {
	return renderLicense(l.id, l.owner, l.item, l.creditViews(), now)
}

// renderLicense builds the 10Duke shape. The license window is the span of its credits; it is
// active when any credit is.
func renderLicense(id, owner, item string, credits []creditView, now int64) licenseJSON {
	v := licenseJSON{ID: id, Owner: owner, LicensedItem: item,
		UseCountCredits: make([]creditJSON, 0, len(credits))}
	var span window // the credits' union: earliest from, latest until, open if any is
	for i, c := range credits {
		active := c.From <= now && now < c.Until
		v.UseCountCredits = append(v.UseCountCredits, creditJSON{ID: c.ID, ValidFrom: jsonInstant(c.Window.From),
			ValidUntil: c.Window.jsonUntil(), Active: active, LicenseID: id,
			LicenseTransactionItemID: c.TxItemID, UseCount: c.Total, CountUsed: c.Used})
		v.Active = v.Active || active
		v.UseCountConsumed += c.Used
		v.UseCountTotal += c.Total
		if i == 0 || c.Window.From.Before(span.From) {
			span.From = c.Window.From
		}
		if i == 0 || c.Window.Until.After(span.Until) {
			span.Until = c.Window.Until
		}
		span.Open = span.Open || c.Window.Open
	}
	if len(credits) > 0 {
		v.ValidFrom, v.ValidUntil = jsonInstant(span.From), span.jsonUntil()
	}
	return v
}

// jsonTime renders unix nanoseconds (a time the engine decided at) as RFC 3339 UTC.
func jsonTime(ns int64) *string { return jsonInstant(time.Unix(0, ns)) }
