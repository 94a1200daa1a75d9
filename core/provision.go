package core

import (
	"fmt"
	"slices"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/order"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// maxUseCount bounds a credit: quantity × creditAmount.
const maxUseCount = 1_000_000_000_000_000

// maxLicenseTotal bounds a license's total use count, its credits summed: below 2^53 every count
// is exact in every JSON reader (JavaScript's numbers are doubles), and no sum over the credits
// can wrap.
const maxLicenseTotal = 1<<53 - 1

// maxCredits bounds a license's credits (one per order item): memory and the slow path of a
// take, which walks them, stay bounded whatever orders arrive. A variable only so that a test
// can make it small.
var maxCredits = 10_000

// Provision runs a license transaction for owner ("organizations/<id>" or "users/<id>") and
// returns it as processed. The same externalId with the same order returns the first answer
// and provisions nothing; with another order, ErrConflict. Any invalid item fails the whole
// transaction with ErrInvalid.
//
// With VENDOR_PUBLIC_KEY_FILE set, a request that is not the vendor's signature over POST
// /<owner>/license-transactions and signed.Body, byte for byte, fails with ErrBadSignature
// before anything else, and nothing changes: no externalId is reserved, no record written. A
// signature that verifies is kept with the transaction, in its record, the durable state and
// the first provision row of the usage database. The caller vouches that order is what
// signed.Body says (the HTTP edge decodes one from the other).
func (e *Engine) Provision(owner string, order Order, signed Signed) (Transaction, error) {
	if !e.enter() {
		return Transaction{}, ErrClosed
	}
	defer e.exit()
	ev, err := e.vendorKey.CheckOrder(owner, signed)
	if err != nil {
		return Transaction{}, err
	}
	o, err := order.Check(owner)
	if err != nil {
		return Transaction{}, err
	}
	if e.pool != nil {
		return e.provisionPooled(o)
	}
	e.provMu.Lock()
	defer e.provMu.Unlock()
	if prev := e.txs[o.ExternalID]; prev != nil {
		if prev.Hash != o.Hash {
			return Transaction{}, conflictf("externalId %q was used for a different transaction", o.ExternalID)
		}
		return *prev.Tx, nil
	}
	rec, err := e.planTransaction(o)
	if err != nil {
		return Transaction{}, err
	}
	rec.Signature, rec.Request = ev.Signature, ev.Request
	if _, err := e.appendRecord(rec.AppendTo(nil)); err != nil {
		return Transaction{}, err
	}
	e.applyProvision(rec)
	return *rec.Tx, nil
}

// planTransaction resolves products and licenses and builds the record with its response.
// provMu is held.
func (e *Engine) planTransaction(o *order.Checked) (*record.Provision, error) {
	now := e.nowNS()
	rec := &record.Provision{Time: now, TxID: licensing.NewID(), ExternalID: o.ExternalID, Type: o.Type, Owner: o.Owner, Hash: o.Hash}
	created := make(map[string]string) // licensed item → license id new in this transaction
	sizes := make(map[string]licenseSize)
	for i, it := range o.Items {
		ref := e.products[it.ProductID]
		if ref == nil {
			return nil, invalidf("items[%d]: unknown productId %q", i, it.ProductID)
		}
		p := ref.p.Load()
		if it.Quantity > maxUseCount/p.CreditAmount {
			return nil, invalidf("items[%d]: quantity × creditAmount exceeds %d", i, int64(maxUseCount))
		}
		pi := record.ProvisionItem{ID: licensing.NewID(), ExternalID: it.ExternalID, ProductID: p.ID, Quantity: it.Quantity,
			Window:       Window{From: unixTime(now), Until: it.Until, Open: !it.HasUntil},
			LicensedItem: p.LicensedItem, CreditID: licensing.NewID(), UseCount: it.Quantity * p.CreditAmount}
		if it.HasFrom {
			pi.Window.From = it.From
		}
		if !pi.Window.Open && !pi.Window.Until.After(pi.Window.From) {
			return nil, invalidf("items[%d]: licenseValidUntil must be after licenseValidFrom", i)
		}
		pi.LicenseID, pi.NewLicense = e.licenseFor(o.Owner, p.LicensedItem, created)
		if err := e.grow(sizes, pi.LicenseID, pi.UseCount); err != nil {
			return nil, invalidf("items[%d]: %v", i, err)
		}
		rec.Items = append(rec.Items, pi)
	}
	rec.Tx = e.transaction(rec)
	return rec, nil
}

// licenseSize is a license's total use count and credits, as a transaction being planned
// would leave them.
type licenseSize struct {
	total   int64
	credits int
}

// grow adds a credit of useCount to license in sizes, refusing what would pass maxLicenseTotal
// or maxCredits. provMu is held.
func (e *Engine) grow(sizes map[string]licenseSize, license string, useCount int64) error {
	sz, ok := sizes[license]
	if l := e.lookup(license); !ok && l != nil && l.id == license {
		sz = licenseSize{l.ctr.Total(), l.ctr.NumCredits()}
	}
	switch {
	case useCount > maxLicenseTotal-sz.total:
		return fmt.Errorf("the license would hold %d + %d units, over the most one license may hold (%d)",
			sz.total, useCount, int64(maxLicenseTotal))
	case sz.credits >= maxCredits:
		return fmt.Errorf("the license already has %d credits, the most one license may have", maxCredits)
	}
	sizes[license] = licenseSize{sz.total + useCount, sz.credits + 1}
	return nil
}

// licenseFor picks the owner's license for item, or a new one (once per transaction).
func (e *Engine) licenseFor(owner, item string, created map[string]string) (string, bool) {
	if l := e.lookup(ownerItemKey(owner, item)); l != nil {
		return l.id, false
	}
	if id, ok := created[item]; ok {
		return id, false
	}
	id := e.table.NewID() // an id the table resolves without hashing (shard/doc.go)
	created[item] = id
	return id, true
}

// applyProvision makes a logged transaction live; provMu is held.
func (e *Engine) applyProvision(rec *record.Provision) {
	for _, it := range rec.Items {
		l := e.lookup(it.LicenseID)
		if l == nil {
			l = e.installLicense(it.LicenseID, rec.Owner, it.LicensedItem, rec.Time, e.products[it.ProductID])
		}
		l.addCredit(creditMeta{ID: it.CreditID, TxItemID: it.ID, Window: it.Window}, it.UseCount, 0)
	}
	e.txs[rec.ExternalID] = &record.Tx{Owner: rec.Owner, Hash: rec.Hash, Tx: rec.Tx}
}

// installLicense registers a new license under its id and its owner/item alias.
func (e *Engine) installLicense(id, owner, item string, created int64, p *productRef) *license {
	l := newLicense(e.table.NewLicense(id), owner, item, created, p) // in the table's dense part: shard/dense.go
	e.table.Put(id, l.ctr)
	e.table.Put(ownerItemKey(owner, item), l.ctr)
	e.byOwner[owner] = append(e.byOwner[owner], l)
	return l
}

// transaction builds the first answer to rec as it will be once rec is applied: each item's
// license with its credits so far (live counts) plus those rec adds, as of rec's time.
// provMu is held.
func (e *Engine) transaction(rec *record.Provision) *Transaction {
	tx := &Transaction{ID: rec.TxID, Type: rec.Type, ExternalID: rec.ExternalID, Processed: unixTime(rec.Time)}
	credits := make(map[string][]creditView)
	for _, it := range rec.Items {
		if _, seen := credits[it.LicenseID]; !seen {
			if l := e.lookup(it.LicenseID); l != nil && l.id == it.LicenseID {
				credits[it.LicenseID] = l.creditViews()
			}
		}
		from, until := it.Window.NS()
		credits[it.LicenseID] = append(credits[it.LicenseID], creditView{creditMeta{it.CreditID, it.ID, it.Window},
			shard.CreditState{From: from, Until: until, Total: it.UseCount}})
	}
	for _, it := range rec.Items {
		p := *e.products[it.ProductID].p.Load()
		tx.Items = append(tx.Items, TransactionItem{ID: it.ID, ExternalID: it.ExternalID, ProductID: it.ProductID,
			Quantity: it.Quantity, Window: it.Window,
			License: licenseView(it.LicenseID, rec.Owner, it.LicensedItem, p, credits[it.LicenseID], rec.Time)})
	}
	return tx
}

// OwnerLicenses lists the licenses of owner with live counts; an owner with none gets an
// empty list.
func (e *Engine) OwnerLicenses(owner string) ([]LicenseView, error) {
	if err := licensing.CheckOwner(owner); err != nil {
		return nil, err
	}
	now := e.nowNS()
	e.provMu.RLock()
	ls := slices.Clone(e.byOwner[owner])
	e.provMu.RUnlock()
	out := make([]LicenseView, 0, len(ls))
	for _, l := range ls {
		out = append(out, e.view(l, now))
	}
	return out, nil
}

// License returns one license with live counts.
func (e *Engine) License(id string) (LicenseView, error) {
	l := e.lookup(id)
	if l == nil || l.id != id {
		return LicenseView{}, notFoundf("no license %q", id)
	}
	return e.view(l, e.nowNS()), nil
}
