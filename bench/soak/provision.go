package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd/core/client"
)

// The two products of the soak, one per tracking mode.
const (
	meterProduct = "soak-meter" // TRACK_BY_CALLER_CONSUMPTION_COUNT
	meterItem    = "SoakMeter"
	seatProduct  = "soak-seat" // TRACK_BY_LICENSE_SESSIONS_OPENED, 2 units a session
	seatItem     = "SoakSeat"
	seatCredit   = 2
)

// Sizes of the orders: big licenses never run out during a soak; small ones run out within
// seconds and a new pair is ordered every -renew, so that denials and grants alternate.
const (
	bigQuantity       = 1_000_000_000
	smallMeterQty     = 1000
	smallSeatQuantity = 40
)

// fleet is what provisioning made: the owners the workers address.
type fleet struct {
	meters     []string               // caller-count owners that never run out
	seats      []string               // sessions-mode owners that never run out
	smallMeter atomic.Pointer[string] // caller-count owner of the newest small license
	smallSeat  atomic.Pointer[string] // sessions-mode owner of the newest small license
	expired    string                 // caller-count license whose only credit has expired
	future     string                 // caller-count license whose only credit starts in a year
	licenseIDs []string               // of the big licenses, for GET /v1/licenses/{id}
	renewals   atomic.Int64
}

// orderSpec is one order of the initial provisioning.
type orderSpec struct {
	owner, product string
	qty            int64
	from, until    time.Time
}

// provision creates both products and every owner's first order.
func provision(c *client.Client, now time.Time) (*fleet, error) {
	for _, p := range []client.Product{
		{ID: meterProduct, Name: meterItem, LicensedItem: meterItem, TrackingMode: client.TrackCallerCount, CreditAmount: 1},
		{ID: seatProduct, Name: seatItem, LicensedItem: seatItem, TrackingMode: client.TrackSessions, CreditAmount: seatCredit},
	} {
		if _, err := c.PutProduct(context.Background(), p.ID, p); err != nil {
			return nil, err
		}
	}
	f := &fleet{meters: []string{"organizations/soak-a", "organizations/soak-b", "organizations/soak-c", "organizations/soak-d"},
		seats: []string{"users/soak-alice", "users/soak-bob"}, expired: "organizations/soak-expired", future: "organizations/soak-future"}
	if err := f.renew(c, now); err != nil {
		return nil, err
	}
	year := now.AddDate(1, 0, 0)
	orders := []orderSpec{
		{f.expired, meterProduct, 1000, now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)},
		{f.future, meterProduct, 1000, year, year.AddDate(1, 0, 0)},
	}
	for _, o := range f.meters {
		orders = append(orders, orderSpec{o, meterProduct, bigQuantity, now.Add(-time.Minute), year})
	}
	for _, o := range f.seats {
		orders = append(orders, orderSpec{o, seatProduct, bigQuantity, now.Add(-time.Minute), year})
	}
	for i, o := range orders {
		id, err := order(c, o.owner, fmt.Sprintf("soak-%d", i), o.product, o.qty, o.from, o.until)
		if err != nil {
			return nil, err
		}
		if o.qty == bigQuantity {
			f.licenseIDs = append(f.licenseIDs, id)
		}
	}
	return f, nil
}

// order posts one 10Duke license transaction and returns the license it went to.
func order(c *client.Client, owner, ext, product string, qty int64, from, until time.Time) (string, error) {
	tx, err := c.Provision(context.Background(), owner, client.Order{Type: "Order", ExternalID: ext,
		Items: []client.OrderItem{{ExternalID: ext + "-1", ProductID: product, Quantity: qty,
			LicenseValidFrom: from.UTC().Truncate(time.Second), LicenseValidUntil: until.UTC().Truncate(time.Second)}}})
	if err != nil {
		return "", err
	}
	if it := tx.Items; len(it) != 1 || len(it[0].Licenses) != 1 {
		return "", fmt.Errorf("order %s for %s: want one item with one license, got %+v", ext, owner, tx)
	}
	return tx.Items[0].Licenses[0].ID, nil
}

// renew orders the next pair of small licenses, for new owners, and points the traffic at them.
//
// Not a second order for the same owners: that would add a credit to their licenses, and
// every order's stored answer (kept for its externalId) embeds the license with all its
// credits, so n top-ups of one license keep O(n²) bytes in memory and in the checkpoint. That
// is meterd's design, not a leak, and a soak that topped up every few seconds would measure it
// instead of leaks (450 top-ups each of two licenses in 90 s: heap in use 25 → 129 MiB).
func (f *fleet) renew(c *client.Client, now time.Time) error {
	n := f.renewals.Add(1)
	meter, seat := fmt.Sprintf("organizations/soak-small-%d", n), fmt.Sprintf("users/soak-small-%d", n)
	from, year := now.Add(-time.Minute), now.AddDate(1, 0, 0)
	if _, err := order(c, meter, fmt.Sprintf("small-meter-%d", n), meterProduct, smallMeterQty, from, year); err != nil {
		return err
	}
	if _, err := order(c, seat, fmt.Sprintf("small-seat-%d", n), seatProduct, smallSeatQuantity, from, year); err != nil {
		return err
	}
	f.smallMeter.Store(&meter)
	f.smallSeat.Store(&seat)
	return nil
}

// renewEvery renews the small licenses every period until ctx ends; it returns the first failure.
func (f *fleet) renewEvery(ctx context.Context, c *client.Client, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if err := f.renew(c, now); err != nil {
				return err
			}
		}
	}
}
