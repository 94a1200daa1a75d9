package shard_test

import (
	"fmt"

	"github.com/meterd/meterd/shard"
)

func Example() {
	var licenses shard.Table
	l := shard.NewLicense("6f1c2b7e-0d3a-4c55-9a8e-2b9d41f0c3aa")
	l.AddCredit(100, 200, 10, 0) // 10 units, valid in [100, 200)
	l.AddCredit(100, 150, 3, 0)  // 3 units ending sooner: drawn on first
	licenses.Put(l.ID(), l)
	licenses.Put("organizations/acme\x00PdfPro", l)

	buf := make([]shard.Part, 0, 4)
	r := licenses.Get("organizations/acme\x00PdfPro").Take(5, 120, buf)
	fmt.Println(r.Outcome, r.Remaining, r.Parts)
	r = l.Take(9, 120, buf)
	fmt.Println(r.Outcome, r.Remaining, r.Parts)
	r = l.Take(1, 200, buf)
	fmt.Println(r.Outcome, r.Remaining, r.Parts)
	// Output:
	// granted 8 [{1 3} {0 2}]
	// exhausted 8 []
	// expired 0 []
}
