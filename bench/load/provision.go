package main

import (
	"context"
	"strconv"
	"time"

	"github.com/meterd/meterd/core/client"
)

// Every bench license holds benchQuantity × benchCreditAmount units (10^12: at a million
// units a second, eleven days), so no row ends in denials by running dry.
const (
	benchQuantity     = 1_000_000_000
	benchCreditAmount = 1000
)

// provision creates n caller-count products BenchItem0… and one order giving owner a license
// of each, over the admin API; it returns the licensed items.
func provision(c *client.Client, owner, run string, n int) ([]string, error) {
	ctx := context.Background()
	items := make([]string, n)
	now := time.Now().UTC().Truncate(time.Second)
	o := client.Order{Type: "Order", ExternalID: "bench-" + run}
	for i := range items {
		items[i] = "BenchItem" + strconv.Itoa(i)
		id := "bench-product-" + strconv.Itoa(i)
		p := client.Product{Name: items[i], LicensedItem: items[i], TrackingMode: client.TrackCallerCount, CreditAmount: benchCreditAmount}
		if _, err := c.PutProduct(ctx, id, p); err != nil {
			return nil, err
		}
		o.Items = append(o.Items, client.OrderItem{ExternalID: "item-" + strconv.Itoa(i), ProductID: id, Quantity: benchQuantity,
			LicenseValidFrom: now.Add(-time.Hour), LicenseValidUntil: now.AddDate(1, 0, 0)})
	}
	if _, err := c.Provision(ctx, owner, o); err != nil {
		return nil, err
	}
	return items, nil
}
