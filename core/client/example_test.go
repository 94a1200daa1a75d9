package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// An application's whole use of meterd: the vendor defines a product and orders the customer
// a license of 1,000 units; the application consumes, is denied what the license does not
// hold, and branches on a typed error. The agent here runs in this process on a temporary
// directory (package harness); an application would call client.New with meterd's address.
func Example() {
	cfg := config.Default()
	cfg.DataDir = "" // a temporary directory
	agent, err := harness.StartInProcess(cfg, core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Stop()
	c, err := agent.Client(client.Options{}) // with the admin token, for the vendor's calls
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err = c.PutProduct(ctx, "pdfpro", client.Product{LicensedItem: "PdfPro", TrackingMode: client.TrackCallerCount})
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	_, err = c.Provision(ctx, "organizations/acme", client.Order{ExternalID: "order-1", Items: []client.OrderItem{{
		ProductID: "pdfpro", Quantity: 1000, LicenseValidFrom: now.Add(-time.Minute), LicenseValidUntil: now.AddDate(1, 0, 0)}}})
	if err != nil {
		log.Fatal(err)
	}

	d, err := c.Consume(ctx, client.ConsumeRequest{Owner: "organizations/acme", Item: "PdfPro", Units: 4, User: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("granted:", d.Granted, d.Units, "units,", d.Remaining, "remain")

	d, err = c.Consume(ctx, client.ConsumeRequest{Owner: "organizations/acme", Item: "PdfPro", Units: 5000})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("granted:", d.Granted, d.Reason)

	_, err = c.Consume(ctx, client.ConsumeRequest{Owner: "organizations/acme", Item: "PdfMax", Units: 1})
	fmt.Println("not licensed:", errors.Is(err, client.ErrNotFound))
	// Output:
	// granted: true 4 units, 996 remain
	// granted: false exhausted
	// not licensed: true
}
