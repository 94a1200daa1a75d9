package core

import (
	"errors"
	"strings"
	"testing"

	"github.com/meterd/meterd/core/config"
)

// A license takes at most maxCredits credits: the order that would pass it is refused whole.
// Not parallel: it changes maxCredits, which every engine reads.
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
