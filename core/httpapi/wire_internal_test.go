package httpapi

import (
	"errors"
	"reflect"
	"testing"

	"github.com/meterd/meterd/core"
)

// decodeOrder reads an order body as the transaction handler does.
func decodeOrder(body []byte) (core.Order, error) {
	var in orderRequest
	if err := decodeStrict(body, &in); err != nil {
		return core.Order{}, err
	}
	return in.order()
}

// FuzzDecodeOrder: a license-transaction body either decodes to an order or fails with
// ErrInvalid (a 400), never anything else; and the same bytes always decode the same.
func FuzzDecodeOrder(f *testing.F) {
	f.Add([]byte(`{"transaction":{"type":"Order","externalId":"0000004556786","items":[{"externalId":"0005404526916","productId":"7a195f0b-459b-4c60-ba5e-7a3d53133e28","quantity":15000,"licenseValidFrom":"2026-01-01T00:00:00Z","licenseValidUntil":"2027-01-01T00:00:00Z"}]}}`))
	f.Add([]byte(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":1}]}}`))
	f.Add([]byte(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":1.5,"licenseValidFrom":"yesterday"}]}}`))
	f.Add([]byte(`{"transaction":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := decodeOrder(body)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := decodeOrder(body)
		if err != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("the same body decoded differently: %v", err)
		}
	})
}

// The same order spelled differently (white space, field order, type given or left out)
// decodes to the same Order, so its digest, and its externalId replay, are the same.
func TestDecodeOrderSpellings(t *testing.T) {
	a, err := decodeOrder([]byte(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":1}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeOrder([]byte(` { "transaction" : { "items" : [ { "quantity" : 1, "productId" : "p" } ], "externalId" : "x", "type": "Order" } } `))
	if err != nil {
		t.Fatal(err)
	}
	b.Type = "" // given or not, the engine takes it as Order
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%+v and %+v", a, b)
	}
}
