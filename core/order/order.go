package order

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/record"
)

// Order is a license transaction as 10Duke documents it: an order of items, each a quantity
// of a product for a validity window. The HTTP edge reads it from JSON; the engine checks it.
type Order struct {
	Type       string // "" or "Order", the only type supported
	ExternalID string // the vendor's order number: the same one again returns the first answer
	Items      []Item
}

// Item is one item of an Order. A nil ValidFrom is the time of processing; a nil
// ValidUntil leaves the credit open-ended.
type Item struct {
	ExternalID            string
	ProductID             string
	Quantity              int64
	ValidFrom, ValidUntil *time.Time
}

// maxTxItems bounds one transaction, so that a single request cannot build a huge record.
const maxTxItems = 1000

// CheckedItem is a checked item; HasFrom and HasUntil say whether the order gave the dates.
type CheckedItem struct {
	Item
	From, Until       time.Time
	HasFrom, HasUntil bool
}

// Checked is a checked Order for one owner, with the digest that tells a resent order from a
// different one under the same externalId.
type Checked struct {
	Owner      string
	Type       string
	ExternalID string
	Items      []CheckedItem
	Hash       [32]byte
}

// Check validates o for owner. Nothing is looked up yet.
func (o *Order) Check(owner string) (*Checked, error) {
	if err := licensing.CheckOwner(owner); err != nil {
		return nil, err
	}
	if o.Type != "" && o.Type != "Order" {
		return nil, licensing.Invalidf("transaction type %q is not supported (only Order)", o.Type)
	}
	if err := licensing.CheckText("transaction externalId", o.ExternalID, true); err != nil {
		return nil, err
	}
	if len(o.Items) == 0 || len(o.Items) > maxTxItems {
		return nil, licensing.Invalidf("transaction needs 1 to %d items", maxTxItems)
	}
	t := &Checked{Owner: owner, Type: "Order", ExternalID: o.ExternalID}
	for i, it := range o.Items {
		v, err := checkItem(it)
		if err != nil {
			return nil, licensing.Invalidf("items[%d]: %v", i, err)
		}
		t.Items = append(t.Items, v)
	}
	t.Hash = t.digest()
	return t, nil
}

func checkItem(it Item) (CheckedItem, error) {
	v := CheckedItem{Item: it}
	if err := licensing.CheckID("productId", it.ProductID); err != nil {
		return v, err
	}
	if err := licensing.CheckText("externalId", it.ExternalID, false); err != nil {
		return v, err
	}
	if it.Quantity < 1 || it.Quantity > licensing.MaxUnits {
		return v, licensing.Invalidf("quantity must be a whole number from 1 to %d", licensing.MaxUnits)
	}
	var err error
	if it.ValidFrom != nil {
		v.HasFrom = true
		if v.From, err = checkDate("licenseValidFrom", *it.ValidFrom); err != nil {
			return v, err
		}
	}
	if it.ValidUntil != nil {
		v.HasUntil = true
		if v.Until, err = checkDate("licenseValidUntil", *it.ValidUntil); err != nil {
			return v, err
		}
	}
	if v.HasFrom && v.HasUntil && !v.Until.After(v.From) {
		return v, licensing.Invalidf("licenseValidUntil must be after licenseValidFrom")
	}
	return v, nil
}

// checkDate takes a date-time exactly, in UTC: any instant from year 1 to 9999 reads back as
// the same instant (see licensing.Window).
func checkDate(field string, t time.Time) (time.Time, error) {
	if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, licensing.Invalidf("%s %s is outside the years 0001 to 9999", field, t.Format(time.RFC3339Nano))
	}
	return t, nil
}

// digest identifies the order's content, so that a resent externalId can be told apart from
// a different order reusing it.
func (o *Checked) digest() [32]byte {
	b := record.AppendStr(record.AppendStr(record.AppendStr(nil, o.Owner), o.Type), o.ExternalID)
	for _, it := range o.Items {
		b = record.AppendStr(record.AppendStr(b, it.ExternalID), it.ProductID)
		b = binary.AppendVarint(b, it.Quantity)
		b = record.AppendBool(record.AppendInstant(b, it.From), it.HasFrom)
		b = record.AppendBool(record.AppendInstant(b, it.Until), it.HasUntil)
	}
	return sha256.Sum256(b)
}
