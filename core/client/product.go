package client

import (
	"context"
	"net/http"
	"net/url"
)

// The tracking modes of a product's license model.
const (
	// TrackSessions: the first call of a session takes the credit amount; later calls in the
	// open session take nothing.
	TrackSessions = "TRACK_BY_LICENSE_SESSIONS_OPENED"
	// TrackCallerCount: each call declares the units it takes.
	TrackCallerCount = "TRACK_BY_CALLER_CONSUMPTION_COUNT"
)

// Product is a product package: the licensed item it grants and its license model.
type Product struct {
	ID           string `json:"id,omitempty"`   // set in answers; the path names it in a PUT
	Name         string `json:"name,omitempty"` // empty: the licensed item
	LicensedItem string `json:"licensedItem"`
	TrackingMode string `json:"trackingMode"` // TrackSessions or TrackCallerCount
	// CreditAmount is what a session checkout takes and what one unit of quantity grants;
	// 0 means 1.
	CreditAmount int64 `json:"creditAmount,omitempty"`
}

// Body is the request body PutProduct sends for p, byte for byte (without ID): what the
// vendor signs for PutProductSigned.
func (p Product) Body() ([]byte, error) {
	p.ID = ""
	return jsonBody(p)
}

// PutProduct creates or changes product id with the admin token and returns it as stored.
func (c *Client) PutProduct(ctx context.Context, id string, p Product) (Product, error) {
	return c.PutProductSigned(ctx, id, p, "")
}

// PutProductSigned is PutProduct with the vendor's Meterd-Signature over
// "PUT /products/<id>\n" and p.Body().
func (c *Client) PutProductSigned(ctx context.Context, id string, p Product, signature string) (Product, error) {
	body, err := p.Body()
	if err != nil {
		return Product{}, err
	}
	var out Product
	err = c.do(ctx, &call{method: http.MethodPut, path: ProductPath(id), body: body, admin: true,
		signature: signature, replayable: true}, &out)
	return out, err
}

// Product reads product id with the admin token.
func (c *Client) Product(ctx context.Context, id string) (Product, error) {
	var out Product
	err := c.do(ctx, &call{method: http.MethodGet, path: ProductPath(id), admin: true, replayable: true}, &out)
	return out, err
}

// ProductPath is where product id is put, as the vendor signs it.
func ProductPath(id string) string { return "/products/" + url.PathEscape(id) }
