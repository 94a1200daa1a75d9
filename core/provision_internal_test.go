package core

import (
	"errors"
	"strings"
	"testing"

	"github.com/meterd/meterd/core/config"
)

// The digest tells orders apart by content: the same order (with its type given or left out)
// digests the same, another quantity differently.
func TestTransactionHash(t *testing.T) {
	digest := func(o Order) [32]byte {
		t.Helper()
		c, err := o.check("organizations/o")
		if err != nil {
			t.Fatal(err)
		}
		return c.hash
	}
	item := func(q int64) []OrderItem { return []OrderItem{{ProductID: "p", Quantity: q}} }
	a := digest(Order{ExternalID: "x", Items: item(1)})
	b := digest(Order{Type: "Order", ExternalID: "x", Items: item(1)})
	c := digest(Order{ExternalID: "x", Items: item(2)})
	if a != b {
		t.Fatal("the same order hashed differently")
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
		o := Order{ExternalID: ext}
		for range items {
			o.Items = append(o.Items, OrderItem{ProductID: "p", Quantity: 1})
		}
		_, err := e.Provision("users/u", o, Signed{})
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
