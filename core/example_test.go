package core_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
)

// An engine on a temporary data directory, without HTTP: provision the 10Duke PdfPro example,
// consume from it, and close (which writes the usage database).
func Example() {
	dir, err := os.MkdirTemp("", "meterd-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DataDir = dir
	e, err := core.Open(cfg, core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	pdfPro := core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount}
	if _, err := e.PutProduct("7a195f0b-459b-4c60-ba5e-7a3d53133e28", pdfPro, core.Signed{}); err != nil {
		log.Fatal(err)
	}
	from, until := time.Now().Add(-time.Minute), time.Now().AddDate(1, 0, 0)
	order := core.Order{Type: "Order", ExternalID: "0000004556786", Items: []core.OrderItem{{
		ExternalID: "0005404526916", ProductID: "7a195f0b-459b-4c60-ba5e-7a3d53133e28", Quantity: 15000,
		ValidFrom: &from, ValidUntil: &until}}}
	tx, err := e.Provision("organizations/cce56388-2c7f-4dd7-8007-b7c3fbd47901", order, core.Signed{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tx.Items[0].License.Total())
	req := core.ConsumeRequest{Owner: "organizations/cce56388-2c7f-4dd7-8007-b7c3fbd47901", Item: "PdfPro", Units: 4}
	var ans core.Answer
	if err := e.Consume(&req, &ans); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ans.Granted, ans.Units, ans.Remaining)
	req.Units = 20000
	if err := e.Consume(&req, &ans); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ans.Granted, ans.Outcome, ans.Remaining)
	if err := e.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 15000
	// true 4 14996
	// false exhausted 14996
}
