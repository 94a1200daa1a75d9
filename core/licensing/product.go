package licensing

import "fmt"

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

// ParseTrackingMode reads a mode by its 10Duke name; anything else is ErrInvalid.
func ParseTrackingMode(s string) (TrackingMode, error) {
	switch s {
	case trackSessionsName:
		return TrackSessions, nil
	case trackCallerCountName:
		return TrackCallerCount, nil
	}
	return 0, Invalidf("trackingMode must be %s or %s, got %q", trackSessionsName, trackCallerCountName, s)
}

// MaxUnits bounds units, credit amounts and quantities so that sums of many stay far from
// int64 overflow.
const MaxUnits = 1_000_000_000

// Product is a product package: the licensed item it grants and its license model.
type Product struct {
	ID           string
	Name         string
	LicensedItem string
	Mode         TrackingMode
	CreditAmount int64 // units a session checkout consumes; quantity × CreditAmount is granted
}

// ProductSpec is what PUT /products/{id} asks for. A nil Name is the licensed item, a nil
// CreditAmount 1; ID, when given, must be the path's.
type ProductSpec struct {
	ID           *string
	Name         *string
	LicensedItem string
	Mode         TrackingMode
	CreditAmount *int64
}

// Product checks spec for the product id.
func (spec *ProductSpec) Product(id string) (Product, error) {
	if err := CheckID("productId", id); err != nil {
		return Product{}, err
	}
	if spec.ID != nil && *spec.ID != id {
		return Product{}, Invalidf("id %q in the body differs from %q in the path", *spec.ID, id)
	}
	p := Product{ID: id, LicensedItem: spec.LicensedItem, Name: spec.LicensedItem, Mode: spec.Mode, CreditAmount: 1}
	if err := CheckText("licensedItem", p.LicensedItem, true); err != nil {
		return Product{}, err
	}
	if spec.Name != nil {
		p.Name = *spec.Name
	}
	if err := CheckText("name", p.Name, true); err != nil {
		return Product{}, err
	}
	if p.Mode != TrackSessions && p.Mode != TrackCallerCount {
		return Product{}, Invalidf("trackingMode must be %s or %s", trackSessionsName, trackCallerCountName)
	}
	if spec.CreditAmount != nil {
		p.CreditAmount = *spec.CreditAmount
	}
	if p.CreditAmount < 1 || p.CreditAmount > MaxUnits {
		return Product{}, Invalidf("creditAmount must be 1 to %d, got %d", MaxUnits, p.CreditAmount)
	}
	return p, nil
}
