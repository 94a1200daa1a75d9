package client

import (
	"context"
	"net/http"
	"time"
)

// Order is a 10Duke license transaction: each item grants quantity × the product's credit
// amount units, valid in [LicenseValidFrom, LicenseValidUntil). A second order of the same
// licensed item for the same owner adds a credit to its license. The ExternalID makes the
// order idempotent: sent again with the same body it provisions nothing and gets the first
// answer, with another body 409.
type Order struct {
	Type       string      `json:"type,omitempty"` // "Order", the only type; empty means it
	ExternalID string      `json:"externalId"`
	Items      []OrderItem `json:"items"`
}

// OrderItem is one product of an Order. A zero time is left out of the request: meterd then
// takes the credit as valid from the order and without end.
type OrderItem struct {
	ExternalID        string    `json:"externalId,omitempty"`
	ProductID         string    `json:"productId"`
	Quantity          int64     `json:"quantity"`
	LicenseValidFrom  time.Time `json:"licenseValidFrom,omitzero"`
	LicenseValidUntil time.Time `json:"licenseValidUntil,omitzero"`
}

// Body is the request body Provision sends for o, byte for byte: what the vendor signs
// (meterctl sign) for ProvisionSigned.
func (o Order) Body() ([]byte, error) {
	return jsonBody(struct {
		Transaction Order `json:"transaction"`
	}{o})
}

// Transaction is meterd's answer to an Order: each item with the license it went to.
type Transaction struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	ExternalID string            `json:"externalId"`
	Processed  time.Time         `json:"processed"`
	Items      []TransactionItem `json:"items"`
}

// TransactionItem is an order item as provisioned.
type TransactionItem struct {
	ID                string     `json:"id"`
	ExternalID        string     `json:"externalId"`
	ProductID         string     `json:"productId"`
	Quantity          int64      `json:"quantity"`
	LicenseValidFrom  *time.Time `json:"licenseValidFrom"`
	LicenseValidUntil *time.Time `json:"licenseValidUntil"`
	Licenses          []License  `json:"licenses"`
}

// Provision posts o for owner ("organizations/<id>" or "users/<id>") with the admin token.
// Errors: ErrInvalid (nothing provisioned, not even the valid items), ErrConflict (the
// ExternalID was used with another body), ErrBadSignature (the agent takes only vendor-signed
// orders: see ProvisionSigned).
func (c *Client) Provision(ctx context.Context, owner string, o Order) (Transaction, error) {
	return c.ProvisionSigned(ctx, owner, o, "")
}

// ProvisionSigned is Provision with the vendor's Meterd-Signature, "ed25519=<base64>" over
// "POST /<owner>/license-transactions\n" and o.Body() (meterctl sign makes it); an agent with
// VENDOR_PUBLIC_KEY_FILE provisions nothing else.
func (c *Client) ProvisionSigned(ctx context.Context, owner string, o Order, signature string) (Transaction, error) {
	body, err := o.Body()
	if err != nil {
		return Transaction{}, err
	}
	var out struct {
		Transaction Transaction `json:"transaction"`
	}
	err = c.do(ctx, &call{method: http.MethodPost, path: TransactionPath(owner), body: body, admin: true,
		signature: signature, replayable: o.ExternalID != ""}, &out)
	return out.Transaction, err
}

// TransactionPath is where an owner's orders are posted, as the vendor signs it.
func TransactionPath(owner string) string { return "/" + owner + "/license-transactions" }
