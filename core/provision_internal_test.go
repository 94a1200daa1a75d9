package core

import (
	"errors"
	"strings"
	"testing"

	"github.com/meterd/meterd/core/config"
)

func FuzzParseTransaction(f *testing.F) {
	f.Add([]byte(`{"transaction":{"type":"Order","externalId":"0000004556786","items":[{"externalId":"0005404526916","productId":"7a195f0b-459b-4c60-ba5e-7a3d53133e28","quantity":15000,"licenseValidFrom":"2026-01-01T00:00:00Z","licenseValidUntil":"2027-01-01T00:00:00Z"}]}}`))
	f.Add([]byte(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":1}]}}`))
	f.Add([]byte(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":1.5,"licenseValidFrom":"yesterday"}]}}`))
	f.Add([]byte(`{"transaction":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := parseOrder("organizations/o", body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(o.items) == 0 || o.externalID == "" {
			t.Fatalf("accepted an order without items or externalId: %+v", o)
		}
		for _, it := range o.items {
			if it.Quantity < 1 || it.Quantity > maxUnits || (it.hasFrom && it.hasUntil && !it.until.After(it.from)) {
				t.Fatalf("accepted an invalid item: %+v", it)
			}
		}
		if again, err := parseOrder("organizations/o", body); err != nil || again.hash != o.hash {
			t.Fatalf("the same body hashed differently: %v", err)
		}
	})
}

func TestTransactionHash(t *testing.T) {
	parse := func(body string) [32]byte {
		t.Helper()
		o, err := parseOrder("organizations/o", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return o.hash
	}
	a := parse(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":1}]}}`)
	b := parse(` { "transaction" : { "items" : [ { "quantity" : 1, "productId" : "p" } ], "externalId" : "x", "type": "Order" } } `)
	c := parse(`{"transaction":{"externalId":"x","items":[{"productId":"p","quantity":2}]}}`)
	if a != b {
		t.Fatal("the same order spelled differently hashed differently")
	}
	if a == c {
		t.Fatal("orders of different quantity hashed the same")
	}
}

// A license takes at most maxCredits credits: the order that would pass it is refused whole.
func TestMaxCredits(t *testing.T) {
	defer func(n int) { maxCredits = n }(maxCredits)
	maxCredits = 3
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	e, err := Open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.PutProduct("p", ProductSpec{LicensedItem: "Item", Mode: TrackCallerCount}, Signed{}); err != nil {
		t.Fatal(err)
	}
	order := func(ext string, items int) error {
		body := `{"transaction":{"externalId":"` + ext + `","items":[` +
			strings.Repeat(`{"productId":"p","quantity":1},`, items-1) + `{"productId":"p","quantity":1}]}}`
		_, err := e.Provision("users/u", mustOrder(t, body), Signed{})
		return err
	}
	if err := order("a", 2); err != nil {
		t.Fatal(err)
	}
	if err := order("b", 2); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "already has 3 credits") {
		t.Fatalf("got %v, want the fourth credit refused", err)
	}
	if err := order("b", 1); err != nil {
		t.Fatalf("the third credit: %v", err)
	}
}
