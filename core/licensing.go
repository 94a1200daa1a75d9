package core

import (
	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/order"
)

// The values licensing is made of live in core/licensing, below core/record, which persists
// them; core names them as its own, so that its callers need no other import.
type (
	Window          = licensing.Window
	TrackingMode    = licensing.TrackingMode
	Product         = licensing.Product
	ProductSpec     = licensing.ProductSpec
	LicenseView     = licensing.LicenseView
	CreditView      = licensing.CreditView
	Transaction     = licensing.Transaction
	TransactionItem = licensing.TransactionItem
	Answer          = licensing.Answer

	// Orders are checked in core/order, beside the digest of their content.
	Order     = order.Order
	OrderItem = order.Item
)

// The tracking modes (licensing.TrackingMode says what each does).
const (
	TrackSessions    = licensing.TrackSessions
	TrackCallerCount = licensing.TrackCallerCount
)

// MaxUnits bounds units, credit amounts and quantities so that sums of many stay far from
// int64 overflow.
const MaxUnits = licensing.MaxUnits

// ParseTrackingMode reads a mode by its 10Duke name; anything else is ErrInvalid.
func ParseTrackingMode(s string) (TrackingMode, error) { return licensing.ParseTrackingMode(s) }
