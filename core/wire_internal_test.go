package core

import "testing"

// parseOrder reads an order body as the HTTP edge does and checks it as the engine does.
func parseOrder(owner string, body []byte) (*txOrder, error) {
	var in orderRequest
	if err := decodeStrict(body, &in); err != nil {
		return nil, err
	}
	o, err := in.order()
	if err != nil {
		return nil, err
	}
	return o.check(owner)
}

// mustOrder reads an order body as the HTTP edge does.
func mustOrder(t testing.TB, body string) Order {
	t.Helper()
	var in orderRequest
	if err := decodeStrict([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	o, err := in.order()
	if err != nil {
		t.Fatal(err)
	}
	return o
}
