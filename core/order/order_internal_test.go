package order

import "testing"

// The digest tells orders apart by content: the same order (with its type given or left out)
// digests the same, another quantity differently.
func TestTransactionHash(t *testing.T) {
	digest := func(o Order) [32]byte {
		t.Helper()
		c, err := o.Check("organizations/o")
		if err != nil {
			t.Fatal(err)
		}
		return c.Hash
	}
	item := func(q int64) []Item { return []Item{{ProductID: "p", Quantity: q}} }
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
