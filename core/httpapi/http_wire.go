package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/meterd/meterd/core"
)

// The wire format of the admin API: 10Duke's license-transaction request and response, field
// for field, and the product and license documents. The engine speaks Go types (Order,
// Transaction, LicenseView, Product); these are their JSON.

type productJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	LicensedItem string `json:"licensedItem"`
	TrackingMode string `json:"trackingMode"`
	CreditAmount int64  `json:"creditAmount"`
}

func productDoc(p core.Product) productJSON {
	return productJSON{p.ID, p.Name, p.LicensedItem, p.Mode.String(), p.CreditAmount}
}

// productRequest is a PUT /products/{id} body.
type productRequest struct {
	ID           *string `json:"id"`
	Name         *string `json:"name"`
	LicensedItem string  `json:"licensedItem"`
	TrackingMode string  `json:"trackingMode"`
	CreditAmount *int64  `json:"creditAmount"`
}

func (r *productRequest) spec() (core.ProductSpec, error) {
	mode, err := core.ParseTrackingMode(r.TrackingMode)
	return core.ProductSpec{ID: r.ID, Name: r.Name, LicensedItem: r.LicensedItem, Mode: mode, CreditAmount: r.CreditAmount}, err
}

// orderRequest is a license-transaction body as 10Duke documents it.
type orderRequest struct {
	Transaction *struct {
		Type       *string            `json:"type"`
		ExternalID string             `json:"externalId"`
		Items      []orderItemRequest `json:"items"`
	} `json:"transaction"`
}

type orderItemRequest struct {
	ExternalID        string  `json:"externalId"`
	ProductID         string  `json:"productId"`
	Quantity          *int64  `json:"quantity"`
	LicenseValidFrom  *string `json:"licenseValidFrom"`
	LicenseValidUntil *string `json:"licenseValidUntil"`
}

func (r *orderRequest) order() (core.Order, error) {
	t := r.Transaction
	if t == nil {
		return core.Order{}, invalidf("transaction is required")
	}
	o := core.Order{ExternalID: t.ExternalID, Items: make([]core.OrderItem, len(t.Items))}
	if t.Type != nil {
		o.Type = *t.Type
		if o.Type == "" {
			o.Type = "(empty)" // refused by the engine, like any type but core.Order
		}
	}
	for i, it := range t.Items {
		v := core.OrderItem{ExternalID: it.ExternalID, ProductID: it.ProductID}
		if it.Quantity != nil {
			v.Quantity = *it.Quantity
		}
		var err error
		if v.ValidFrom, err = parseDate(i, "licenseValidFrom", it.LicenseValidFrom); err != nil {
			return core.Order{}, err
		}
		if v.ValidUntil, err = parseDate(i, "licenseValidUntil", it.LicenseValidUntil); err != nil {
			return core.Order{}, err
		}
		o.Items[i] = v
	}
	return o, nil
}

func parseDate(item int, field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, invalidf("items[%d]: %s %q is not an RFC 3339 date-time", item, field, *s)
	}
	return &t, nil
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

func transactionDoc(tx *core.Transaction) txResponse {
	out := txResponse{txJSON{ID: tx.ID, Type: tx.Type, ExternalID: tx.ExternalID,
		Processed: *jsonInstant(tx.Processed), Items: make([]txItemJSON, len(tx.Items))}}
	for i := range tx.Items {
		it := &tx.Items[i]
		out.Transaction.Items[i] = txItemJSON{ID: it.ID, ExternalID: it.ExternalID, ProductID: it.ProductID,
			Quantity: it.Quantity, LicenseValidFrom: jsonInstant(it.Window.From), LicenseValidUntil: jsonUntil(it.Window),
			Licenses: []licenseJSON{licenseDoc(&it.License)}}
	}
	return out
}

// licenseJSON is a license in 10Duke's shape, with its owner beside.
type licenseJSON struct {
	ID               string       `json:"id"`
	Owner            string       `json:"owner"`
	ValidFrom        *string      `json:"validFrom"`
	ValidUntil       *string      `json:"validUntil"`
	Active           bool         `json:"active"`
	EntitlementID    string       `json:"entitlementId"`
	LicensedItem     itemJSON     `json:"licensedItem"`
	LicenseModelID   string       `json:"licenseModelId"`
	LicenseModelName string       `json:"licenseModelName"`
	UseCountConsumed int64        `json:"useCountConsumed"`
	UseCountTotal    int64        `json:"useCountTotal"`
	UseCountCredits  []creditJSON `json:"useCountCredits"`
}

type itemJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
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

// licenseDoc renders v. meterd has no separate entitlements, item catalogue or license-model
// objects: their ids are derived from what stands for them (the owner, the item's name, the
// product and its mode), so they are stable and the same on every agent.
func licenseDoc(v *core.LicenseView) licenseJSON {
	out := licenseJSON{ID: v.ID, Owner: v.Owner, Active: v.Active(),
		EntitlementID:    derivedID("entitlement", v.Owner),
		LicensedItem:     itemJSON{ID: derivedID("licensedItem", v.Item), Name: v.Item, DisplayName: v.ProductName},
		LicenseModelID:   derivedID("licenseModel", v.ProductID+"\x00"+v.Mode.String()),
		LicenseModelName: licenseModelName(v.Mode),
		UseCountConsumed: v.Consumed(), UseCountTotal: v.Total(),
		UseCountCredits: make([]creditJSON, len(v.Credits))}
	if span, ok := v.Span(); ok {
		out.ValidFrom, out.ValidUntil = jsonInstant(span.From), jsonUntil(span)
	}
	for i, c := range v.Credits {
		out.UseCountCredits[i] = creditJSON{ID: c.ID, ValidFrom: jsonInstant(c.Window.From),
			ValidUntil: jsonUntil(c.Window), Active: c.Active, LicenseID: v.ID,
			LicenseTransactionItemID: c.TransactionItemID, UseCount: c.UseCount, CountUsed: c.CountUsed}
	}
	return out
}

func licenseModelName(m core.TrackingMode) string {
	switch m {
	case core.TrackSessions:
		return "Use_Count_by_License_Sessions_Opened"
	case core.TrackCallerCount:
		return "Use_Count_by_Caller_Consumption_Count"
	}
	return "License_Model_for_Use_Count" // a transaction kept by an earlier build names none
}

// derivedID is a UUID (version 8) made from kind and name: the same pair always gives the same
// id, and no two pairs a common one in practice.
func derivedID(kind, name string) string {
	sum := sha256.Sum256([]byte("meterd " + kind + "\x00" + name))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// jsonInstant renders t as RFC 3339 UTC, as precise as it was ordered.
func jsonInstant(t time.Time) *string {
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// jsonUntil renders a window's end; an open end is null.
func jsonUntil(w core.Window) *string {
	if w.Open {
		return nil
	}
	return jsonInstant(w.Until)
}

// invalidf is a 400 of the wire format's own, before the engine sees the request.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", core.ErrInvalid, fmt.Sprintf(format, args...))
}
