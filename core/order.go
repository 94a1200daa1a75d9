package core

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/meterd/meterd/core/record"
)

// Order is a license transaction as 10Duke documents it: an order of items, each a quantity
// of a product for a validity window. The HTTP edge reads it from JSON; the engine checks it.
type Order struct {
	Type       string // "" or "Order", the only type supported
	ExternalID string // the vendor's order number: the same one again returns the first answer
	Items      []OrderItem
}

// OrderItem is one item of an Order. A nil ValidFrom is the time of processing; a nil
// ValidUntil leaves the credit open-ended.
type OrderItem struct {
	ExternalID            string
	ProductID             string
	Quantity              int64
	ValidFrom, ValidUntil *time.Time
}

// maxTxItems bounds one transaction, so that a single request cannot build a huge record.
const maxTxItems = 1000

// txItem is a checked item; hasFrom and hasUntil say whether the order gave the dates.
type txItem struct {
	OrderItem
	from, until       time.Time
	hasFrom, hasUntil bool
}

// txOrder is a checked Order for one owner, with the digest that tells a resent order from a
// different one under the same externalId.
type txOrder struct {
	owner      string
	typ        string
	externalID string
	items      []txItem
	hash       [32]byte
}

// check validates o for owner. Nothing is looked up yet.
func (o *Order) check(owner string) (*txOrder, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	if o.Type != "" && o.Type != "Order" {
		return nil, invalidf("transaction type %q is not supported (only Order)", o.Type)
	}
	if err := checkText("transaction externalId", o.ExternalID, true); err != nil {
		return nil, err
	}
	if len(o.Items) == 0 || len(o.Items) > maxTxItems {
		return nil, invalidf("transaction needs 1 to %d items", maxTxItems)
	}
	t := &txOrder{owner: owner, typ: "Order", externalID: o.ExternalID}
	for i, it := range o.Items {
		v, err := checkItem(it)
		if err != nil {
			return nil, invalidf("items[%d]: %v", i, err)
		}
		t.items = append(t.items, v)
	}
	t.hash = t.digest()
	return t, nil
}

func checkItem(it OrderItem) (txItem, error) {
	v := txItem{OrderItem: it}
	if err := checkID("productId", it.ProductID); err != nil {
		return v, err
	}
	if err := checkText("externalId", it.ExternalID, false); err != nil {
		return v, err
	}
	if it.Quantity < 1 || it.Quantity > MaxUnits {
		return v, invalidf("quantity must be a whole number from 1 to %d", MaxUnits)
	}
	var err error
	if it.ValidFrom != nil {
		v.hasFrom = true
		if v.from, err = checkDate("licenseValidFrom", *it.ValidFrom); err != nil {
			return v, err
		}
	}
	if it.ValidUntil != nil {
		v.hasUntil = true
		if v.until, err = checkDate("licenseValidUntil", *it.ValidUntil); err != nil {
			return v, err
		}
	}
	if v.hasFrom && v.hasUntil && !v.until.After(v.from) {
		return v, invalidf("licenseValidUntil must be after licenseValidFrom")
	}
	return v, nil
}

// checkDate takes a date-time exactly, in UTC: any instant from year 1 to 9999 reads back as
// the same instant (see Window).
func checkDate(field string, t time.Time) (time.Time, error) {
	if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, invalidf("%s %s is outside the years 0001 to 9999", field, t.Format(time.RFC3339Nano))
	}
	return t, nil
}

// digest identifies the order's content, so that a resent externalId can be told apart from
// a different order reusing it.
func (o *txOrder) digest() [32]byte {
	b := record.AppendStr(record.AppendStr(record.AppendStr(nil, o.owner), o.typ), o.externalID)
	for _, it := range o.items {
		b = record.AppendStr(record.AppendStr(b, it.ExternalID), it.ProductID)
		b = binary.AppendVarint(b, it.Quantity)
		b = record.AppendBool(record.AppendInstant(b, it.from), it.hasFrom)
		b = record.AppendBool(record.AppendInstant(b, it.until), it.hasUntil)
	}
	return sha256.Sum256(b)
}
