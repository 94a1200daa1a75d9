package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
)

// The license in the shape of 10Duke's example, licensedItem an object.
const license10Duke = `{"id":"68dbc214","validFrom":"2023-02-19T14:12:22.012Z","validUntil":"2024-02-19T14:12:22.012Z",
"active":true,"entitlementId":"6bde22fa","licensedItem":{"id":"b4fe8835","name":"PdfPro","displayName":"PdfPro"},
"licenseModelId":"11e7cb27","licenseModelName":"License_Model_for_Use_Count","useCountConsumed":4,"useCountTotal":15000,
"useCountCredits":[{"id":"497f6eca","validFrom":"2023-02-19T14:12:22.012Z","validUntil":null,"active":true,
"licenseId":"68dbc214","licenseTransactionItemId":"4b5c0d8c","useCount":15000,"countUsed":4}]}`

func TestLicense(t *testing.T) {
	f := newFake(t, answer(200, license10Duke))
	l, err := f.client(client.Options{}).License(context.Background(), "68dbc214")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2023, 2, 19, 14, 12, 22, 12e6, time.UTC)
	c := l.UseCountCredits
	if l.ID != "68dbc214" || !l.ValidFrom.Equal(from) || !l.Active || l.UseCountConsumed != 4 || l.UseCountTotal != 15000 ||
		l.LicensedItem != (client.LicensedItem{ID: "b4fe8835", Name: "PdfPro", DisplayName: "PdfPro"}) ||
		l.EntitlementID != "6bde22fa" || l.LicenseModelName != "License_Model_for_Use_Count" ||
		len(c) != 1 || c[0].ValidUntil != nil || c[0].CountUsed != 4 || c[0].LicenseTransactionItemID != "4b5c0d8c" {
		t.Fatalf("read %+v", l)
	}
	if got := f.requests()[0].path; got != "/v1/licenses/68dbc214" {
		t.Fatalf("asked %s", got)
	}
}

// Agents that predate the object shape send licensedItem as the item's name.
func TestLicensedItemBareString(t *testing.T) {
	f := newFake(t, answer(200, `{"licenses":[{"id":"L1","licensedItem":"PdfPro","useCountCredits":[]}]}`))
	ls, err := f.client(client.Options{}).OwnerLicenses(context.Background(), "organizations/o")
	if err != nil || len(ls) != 1 || ls[0].LicensedItem != (client.LicensedItem{Name: "PdfPro"}) {
		t.Fatalf("got %+v, %v", ls, err)
	}
	f = newFake(t, answer(200, `{"licenses":[{"id":"L1","licensedItem":7}]}`))
	if _, err := f.client(client.Options{}).OwnerLicenses(context.Background(), "organizations/o"); err == nil {
		t.Fatal("licensedItem 7 read without an error")
	}
}

// An owner with nothing has an empty list, not a missing one.
func TestOwnerLicensesEmpty(t *testing.T) {
	f := newFake(t, answer(200, `{"licenses":[]}`))
	ls, err := f.client(client.Options{Token: "t"}).OwnerLicenses(context.Background(), "users/nobody")
	if err != nil || ls == nil || len(ls) != 0 {
		t.Fatalf("got %#v, %v; want an empty list", ls, err)
	}
	if r := f.requests()[0]; r.path != "/users/nobody/licenses" || r.auth != "Bearer t" {
		t.Fatalf("asked %+v", r)
	}
}
