package shard_test

import (
	"fmt"

	"github.com/meterd/meterd/shard"
)

func Example() {
	var licenses shard.Table
	id := licenses.NewID()       // a numbered id: Get finds it without hashing
	l := licenses.NewLicense(id) // built where Get finds it
	l.AddCredit(100, 200, 10, 0) // 10 units, valid in [100, 200)
	l.AddCredit(100, 150, 3, 0)  // 3 units ending sooner: drawn on first
	l.SetValue("the caller's record")
	licenses.Put(l.ID(), l)
	licenses.Put("organizations/acme\x00PdfPro", l)

	buf := make([]shard.Part, 0, 4)
	r := licenses.Get("organizations/acme\x00PdfPro").Take(5, 120, buf)
	fmt.Println(r.Outcome, r.Remaining, r.Parts)
	r = licenses.Get(id).Take(9, 120, buf)
	fmt.Println(r.Outcome, r.Remaining, r.Parts)
	r = l.Take(1, 200, buf)
	fmt.Println(r.Outcome, r.Remaining, r.Parts, licenses.Get(id).Value())
	// Output:
	// granted 8 [{1 3} {0 2}]
	// exhausted 8 []
	// expired 0 [] the caller's record
}
