package core

import (
	"encoding/json"
	"fmt"
)

// TrackingMode is the use-count tracking mode of a product's license model.
type TrackingMode uint8

const (
	// TrackSessions: the first call of a session consumes the credit amount (a checkout);
	// later calls in the open session take nothing.
	TrackSessions TrackingMode = iota + 1
	// TrackCallerCount: each call declares the units it takes.
	TrackCallerCount
)

const (
	trackSessionsName    = "TRACK_BY_LICENSE_SESSIONS_OPENED"
	trackCallerCountName = "TRACK_BY_CALLER_CONSUMPTION_COUNT"
)

func (m TrackingMode) String() string {
	switch m {
	case TrackSessions:
		return trackSessionsName
	case TrackCallerCount:
		return trackCallerCountName
	}
	return fmt.Sprintf("TrackingMode(%d)", uint8(m))
}

func parseTrackingMode(s string) (TrackingMode, error) {
	switch s {
	case trackSessionsName:
		return TrackSessions, nil
	case trackCallerCountName:
		return TrackCallerCount, nil
	}
	return 0, invalidf("trackingMode must be %s or %s, got %q", trackSessionsName, trackCallerCountName, s)
}

// maxUnits bounds units, credit amounts and quantities so that sums of many stay far from
// int64 overflow.
const maxUnits = 1_000_000_000

// Product is a product package: the licensed item it grants and its license model.
type Product struct {
	ID           string
	Name         string
	LicensedItem string
	Mode         TrackingMode
	CreditAmount int64 // units a session checkout consumes; quantity × CreditAmount is granted
}

type productJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	LicensedItem string `json:"licensedItem"`
	TrackingMode string `json:"trackingMode"`
	CreditAmount int64  `json:"creditAmount"`
}

// MarshalJSON writes the product as PUT /products/{id} stores it.
func (p Product) MarshalJSON() ([]byte, error) {
	return json.Marshal(productJSON{p.ID, p.Name, p.LicensedItem, p.Mode.String(), p.CreditAmount})
}

// parseProduct validates a PUT /products/{id} body. creditAmount defaults to 1 and name to
// the licensed item.
func parseProduct(id string, body []byte) (Product, error) {
	if err := checkID("productId", id); err != nil {
		return Product{}, err
	}
	var in struct {
		Name         *string `json:"name"`
		LicensedItem string  `json:"licensedItem"`
		TrackingMode string  `json:"trackingMode"`
		CreditAmount *int64  `json:"creditAmount"`
		ID           *string `json:"id"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return Product{}, err
	}
	if in.ID != nil && *in.ID != id {
		return Product{}, invalidf("id %q in the body differs from %q in the path", *in.ID, id)
	}
	p := Product{ID: id, LicensedItem: in.LicensedItem, Name: in.LicensedItem, CreditAmount: 1}
	if err := checkText("licensedItem", p.LicensedItem, true); err != nil {
		return Product{}, err
	}
	if in.Name != nil {
		p.Name = *in.Name
	}
	if err := checkText("name", p.Name, true); err != nil {
		return Product{}, err
	}
	mode, err := parseTrackingMode(in.TrackingMode)
	if err != nil {
		return Product{}, err
	}
	p.Mode = mode
	if in.CreditAmount != nil {
		p.CreditAmount = *in.CreditAmount
	}
	if p.CreditAmount < 1 || p.CreditAmount > maxUnits {
		return Product{}, invalidf("creditAmount must be 1 to %d, got %d", maxUnits, p.CreditAmount)
	}
	return p, nil
}
