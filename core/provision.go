package core

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

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

// maxTxItems bounds one transaction, so that a single request cannot build a huge record.
const maxTxItems = 1000

// txRequest is a license-transaction body as 10Duke documents it.
type txRequest struct {
	Transaction *struct {
		Type       *string         `json:"type"`
		ExternalID string          `json:"externalId"`
		Items      []txItemRequest `json:"items"`
	} `json:"transaction"`
}

type txItemRequest struct {
	ExternalID        string  `json:"externalId"`
	ProductID         string  `json:"productId"`
	Quantity          *int64  `json:"quantity"`
	LicenseValidFrom  *string `json:"licenseValidFrom"`
	LicenseValidUntil *string `json:"licenseValidUntil"`
}

// txItem is a validated item; hasFrom and hasUntil say whether the order gave the dates.
type txItem struct {
	txItemRequest
	quantity          int64
	from, until       time.Time
	hasFrom, hasUntil bool
}

type txOrder struct {
	owner      string
	typ        string
	externalID string
	items      []txItem
	hash       [32]byte
}

// parseTransaction validates a license-transaction body for owner. Nothing is looked up yet.
func parseTransaction(owner string, body []byte) (*txOrder, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	var in txRequest
	if err := decodeStrict(body, &in); err != nil {
		return nil, err
	}
	t := in.Transaction
	if t == nil {
		return nil, invalidf("transaction is required")
	}
	o := &txOrder{owner: owner, typ: "Order", externalID: t.ExternalID}
	if t.Type != nil && *t.Type != "Order" {
		return nil, invalidf("transaction type %q is not supported (only Order)", *t.Type)
	}
	if err := checkText("transaction externalId", t.ExternalID, true); err != nil {
		return nil, err
	}
	if len(t.Items) == 0 || len(t.Items) > maxTxItems {
		return nil, invalidf("transaction needs 1 to %d items", maxTxItems)
	}
	for i, it := range t.Items {
		v, err := parseTxItem(it)
		if err != nil {
			return nil, invalidf("items[%d]: %v", i, err)
		}
		o.items = append(o.items, v)
	}
	o.hash = o.digest()
	return o, nil
}

func parseTxItem(it txItemRequest) (txItem, error) {
	v := txItem{txItemRequest: it}
	if err := checkID("productId", it.ProductID); err != nil {
		return v, err
	}
	if err := checkText("externalId", it.ExternalID, false); err != nil {
		return v, err
	}
	if it.Quantity == nil || *it.Quantity < 1 || *it.Quantity > maxUnits {
		return v, invalidf("quantity must be a whole number from 1 to %d", maxUnits)
	}
	v.quantity = *it.Quantity
	var err error
	if it.LicenseValidFrom != nil {
		v.hasFrom = true
		if v.from, err = parseRFC3339("licenseValidFrom", *it.LicenseValidFrom); err != nil {
			return v, err
		}
	}
	if it.LicenseValidUntil != nil {
		v.hasUntil = true
		if v.until, err = parseRFC3339("licenseValidUntil", *it.LicenseValidUntil); err != nil {
			return v, err
		}
	}
	if v.hasFrom && v.hasUntil && !v.until.After(v.from) {
		return v, invalidf("licenseValidUntil must be after licenseValidFrom")
	}
	return v, nil
}

// parseRFC3339 reads a date-time exactly, in UTC: any instant from year 1 to 9999 reads back as
// the same instant (see window).
func parseRFC3339(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalidf("%s %q is not an RFC 3339 date-time", field, s)
	}
	if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, invalidf("%s %q is outside the years 0001 to 9999", field, s)
	}
	return t, nil
}

// digest identifies the order's content, so that a resent externalId can be told apart from
// a different order reusing it.
func (o *txOrder) digest() [32]byte {
	b := appendStr(appendStr(appendStr(nil, o.owner), o.typ), o.externalID)
	for _, it := range o.items {
		b = appendStr(appendStr(b, it.ExternalID), it.ProductID)
		b = binary.AppendVarint(b, it.quantity)
		b = appendBool(appendInstant(b, it.from), it.hasFrom)
		b = appendBool(appendInstant(b, it.until), it.hasUntil)
	}
	return sha256.Sum256(b)
}

// Provision runs a license transaction for owner ("organizations/<id>" or "users/<id>") and
// returns the response body. The same externalId with the same body returns the first
// response and provisions nothing; with another body, ErrConflict. Any invalid item fails
// the whole transaction with ErrInvalid. With VENDOR_PUBLIC_KEY_FILE set it fails with
// ErrBadSignature: only ProvisionSigned can carry the vendor's signature.
func (e *Engine) Provision(owner string, body []byte) ([]byte, error) {
	return e.ProvisionSigned(owner, body, "")
}

// ProvisionSigned is Provision for a request carrying signature, the value of its
// Meterd-Signature header ("" when absent). With VENDOR_PUBLIC_KEY_FILE set, a signature that
// is not the vendor's over POST /<owner>/license-transactions and body, byte for byte, fails
// with ErrBadSignature before the body is read, and nothing changes: no externalId is
// reserved, no record written. A signature that verifies is kept with the transaction, in
// its record, the durable state and the first provision row of the usage database.
func (e *Engine) ProvisionSigned(owner string, body []byte, signature string) ([]byte, error) {
	if !e.enter() {
		return nil, ErrClosed
	}
	defer e.exit()
	ev, err := e.checkVendor("POST", "/"+owner+"/license-transactions", body, signature)
	if err != nil {
		return nil, err
	}
	o, err := parseTransaction(owner, body)
	if err != nil {
		return nil, err
	}
	e.provMu.Lock()
	defer e.provMu.Unlock()
	if prev := e.txs[o.externalID]; prev != nil {
		if prev.Hash != o.hash {
			return nil, conflictf("externalId %q was used for a different transaction", o.externalID)
		}
		return prev.Response, nil
	}
	rec, err := e.planTransaction(o)
	if err != nil {
		return nil, err
	}
	rec.Signature, rec.Request = ev.signature, ev.request
	if _, err := e.appendRecord(rec.appendTo(nil)); err != nil {
		return nil, err
	}
	e.applyProvision(rec)
	return rec.Response, nil
}

// planTransaction resolves products and licenses and builds the record with its response.
// provMu is held.
func (e *Engine) planTransaction(o *txOrder) (*provisionRec, error) {
	now := e.nowNS()
	rec := &provisionRec{Time: now, TxID: newID(), ExternalID: o.externalID, Type: o.typ, Owner: o.owner, Hash: o.hash}
	created := make(map[string]string) // licensed item → license id new in this transaction
	sizes := make(map[string]licenseSize)
	for i, it := range o.items {
		ref := e.products[it.ProductID]
		if ref == nil {
			return nil, invalidf("items[%d]: unknown productId %q", i, it.ProductID)
		}
		p := ref.p.Load()
		if it.quantity > maxUseCount/p.CreditAmount {
			return nil, invalidf("items[%d]: quantity × creditAmount exceeds %d", i, int64(maxUseCount))
		}
		pi := provisionItem{ID: newID(), ExternalID: it.ExternalID, ProductID: p.ID, Quantity: it.quantity,
			Window:       window{From: unixTime(now), Until: it.until, Open: !it.hasUntil},
			LicensedItem: p.LicensedItem, CreditID: newID(), UseCount: it.quantity * p.CreditAmount}
		if it.hasFrom {
			pi.Window.From = it.from
		}
		if !pi.Window.Open && !pi.Window.Until.After(pi.Window.From) {
			return nil, invalidf("items[%d]: licenseValidUntil must be after licenseValidFrom", i)
		}
		pi.LicenseID, pi.NewLicense = e.licenseFor(o.owner, p.LicensedItem, created)
		if err := e.grow(sizes, pi.LicenseID, pi.UseCount); err != nil {
			return nil, invalidf("items[%d]: %v", i, err)
		}
		rec.Items = append(rec.Items, pi)
	}
	var err error
	rec.Response, err = e.renderTransaction(rec)
	return rec, err
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
func (e *Engine) applyProvision(rec *provisionRec) {
	for _, it := range rec.Items {
		l := e.lookup(it.LicenseID)
		if l == nil {
			l = e.installLicense(it.LicenseID, rec.Owner, it.LicensedItem, rec.Time, e.products[it.ProductID])
		}
		l.addCredit(creditMeta{ID: it.CreditID, TxItemID: it.ID, Window: it.Window}, it.UseCount, 0)
	}
	e.txs[rec.ExternalID] = &txEntry{Owner: rec.Owner, Hash: rec.Hash, Response: rec.Response}
}

// installLicense registers a new license under its id and its owner/item alias.
func (e *Engine) installLicense(id, owner, item string, created int64, p *productRef) *license {
	l := newLicense(e.table.NewLicense(id), owner, item, created, p) // in the table's dense part: shard/dense.go
	e.table.Put(id, l.ctr)
	e.table.Put(ownerItemKey(owner, item), l.ctr)
	e.byOwner[owner] = append(e.byOwner[owner], l)
	return l
}

type txResponse struct {
	Transaction txJSON `json:"transaction"`
}

type txJSON struct {
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	ExternalID string       `json:"externalId"`
	Processed  string       `json:"processed"`
	Items      []txItemJSON `json:"items"`
}

type txItemJSON struct {
	ID                string        `json:"id"`
	ExternalID        string        `json:"externalId"`
	ProductID         string        `json:"productId"`
	Quantity          int64         `json:"quantity"`
	LicenseValidFrom  *string       `json:"licenseValidFrom"`
	LicenseValidUntil *string       `json:"licenseValidUntil"`
	Licenses          []licenseJSON `json:"licenses"`
}

// renderTransaction builds the response as it will be once rec is applied: each item's license
// with its credits so far (live counts) plus those rec adds.
func (e *Engine) renderTransaction(rec *provisionRec) ([]byte, error) {
	out := txResponse{txJSON{ID: rec.TxID, Type: rec.Type, ExternalID: rec.ExternalID,
		Processed: *jsonTime(rec.Time)}}
	credits := make(map[string][]creditView)
	items := make(map[string]string) // license id → licensed item
	for _, it := range rec.Items {
		if _, seen := credits[it.LicenseID]; !seen {
			if l := e.lookup(it.LicenseID); l != nil {
				credits[it.LicenseID] = l.creditViews()
			}
		}
		from, until := it.Window.ns()
		credits[it.LicenseID] = append(credits[it.LicenseID], creditView{creditMeta{it.CreditID, it.ID, it.Window},
			shard.CreditState{From: from, Until: until, Total: it.UseCount}})
		items[it.LicenseID] = it.LicensedItem
	}
	for _, it := range rec.Items {
		lic := renderLicense(it.LicenseID, rec.Owner, items[it.LicenseID], credits[it.LicenseID], rec.Time)
		out.Transaction.Items = append(out.Transaction.Items, txItemJSON{ID: it.ID, ExternalID: it.ExternalID,
			ProductID: it.ProductID, Quantity: it.Quantity, LicenseValidFrom: jsonInstant(it.Window.From),
			LicenseValidUntil: it.Window.jsonUntil(), Licenses: []licenseJSON{lic}})
	}
	return json.Marshal(out)
}

// OwnerLicenses lists the licenses of owner with live counts; an owner with none gets an
// empty list.
func (e *Engine) OwnerLicenses(owner string) ([]byte, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	now := e.nowNS()
	e.provMu.RLock()
	ls := e.byOwner[owner]
	out := struct {
		Licenses []licenseJSON `json:"licenses"`
	}{make([]licenseJSON, 0, len(ls))}
	for _, l := range ls {
		out.Licenses = append(out.Licenses, l.view(now))
	}
	e.provMu.RUnlock()
	return json.Marshal(out)
}

// License returns one license in the 10Duke shape with live counts.
func (e *Engine) License(id string) ([]byte, error) {
	l := e.lookup(id)
	if l == nil || l.id != id {
		return nil, notFoundf("no license %q", id)
	}
	return json.Marshal(l.view(e.nowNS()))
}
