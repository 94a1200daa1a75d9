package core

import "github.com/meterd/meterd/core/licensing"

// The values licensing is made of live in core/licensing, below core/record, which persists
// them; core names them as its own, so that its callers need no other import.
type (
	Window          = licensing.Window
	TrackingMode    = licensing.TrackingMode
	Product         = licensing.Product
	LicenseView     = licensing.LicenseView
	CreditView      = licensing.CreditView
	Transaction     = licensing.Transaction
	TransactionItem = licensing.TransactionItem
	Answer          = licensing.Answer
)

// The tracking modes (licensing.TrackingMode says what each does).
const (
	TrackSessions    = licensing.TrackSessions
	TrackCallerCount = licensing.TrackCallerCount
)
