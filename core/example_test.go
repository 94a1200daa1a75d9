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
	if _, err := e.PutProduct("7a195f0b-459b-4c60-ba5e-7a3d53133e28", []byte(`{"name":"PdfPro",
		"licensedItem":"PdfPro","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","creditAmount":1}`)); err != nil {
		log.Fatal(err)
	}
	from := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	until := time.Now().UTC().AddDate(1, 0, 0).Format(time.RFC3339)
	order := `{"transaction":{"type":"Order","externalId":"0000004556786","items":[{"externalId":"0005404526916",
		"productId":"7a195f0b-459b-4c60-ba5e-7a3d53133e28","quantity":15000,
		"licenseValidFrom":"` + from + `","licenseValidUntil":"` + until + `"}]}}`
	if _, err := e.Provision("organizations/cce56388-2c7f-4dd7-8007-b7c3fbd47901", []byte(order)); err != nil {
		log.Fatal(err)
	}
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
	// true 4 14996
	// false exhausted 14996
}
