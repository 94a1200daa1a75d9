package core

// ParseTrackingMode reads a mode by its 10Duke name; anything else is ErrInvalid.
func ParseTrackingMode(s string) (TrackingMode, error) {
	for _, m := range [...]TrackingMode{TrackSessions, TrackCallerCount} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, invalidf("trackingMode must be %s or %s, got %q", TrackSessions, TrackCallerCount, s)
}

// MaxUnits bounds units, credit amounts and quantities so that sums of many stay far from
// int64 overflow.
const MaxUnits = 1_000_000_000

// ProductSpec is what PUT /products/{id} asks for. A nil Name is the licensed item, a nil
// CreditAmount 1; ID, when given, must be the path's.
type ProductSpec struct {
	ID           *string
	Name         *string
	LicensedItem string
	Mode         TrackingMode
	CreditAmount *int64
}

// product checks spec for the product id.
func (spec *ProductSpec) product(id string) (Product, error) {
	if err := checkID("productId", id); err != nil {
		return Product{}, err
	}
	if spec.ID != nil && *spec.ID != id {
		return Product{}, invalidf("id %q in the body differs from %q in the path", *spec.ID, id)
	}
	p := Product{ID: id, LicensedItem: spec.LicensedItem, Name: spec.LicensedItem, Mode: spec.Mode, CreditAmount: 1}
	if err := checkText("licensedItem", p.LicensedItem, true); err != nil {
		return Product{}, err
	}
	if spec.Name != nil {
		p.Name = *spec.Name
	}
	if err := checkText("name", p.Name, true); err != nil {
		return Product{}, err
	}
	if p.Mode != TrackSessions && p.Mode != TrackCallerCount {
		return Product{}, invalidf("trackingMode must be %s or %s", TrackSessions, TrackCallerCount)
	}
	if spec.CreditAmount != nil {
		p.CreditAmount = *spec.CreditAmount
	}
	if p.CreditAmount < 1 || p.CreditAmount > MaxUnits {
		return Product{}, invalidf("creditAmount must be 1 to %d, got %d", MaxUnits, p.CreditAmount)
	}
	return p, nil
}
