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

// String is the mode's 10Duke name, what the API reads and writes.
func (m TrackingMode) String() string {
	switch m {
	case TrackSessions:
		return "TRACK_BY_LICENSE_SESSIONS_OPENED"
	case TrackCallerCount:
		return "TRACK_BY_CALLER_CONSUMPTION_COUNT"
	}
	return fmt.Sprintf("TrackingMode(%d)", uint8(m))
}

// Product is a product package: the licensed item it grants and its license model.
type Product struct {
	ID           string
	Name         string
	LicensedItem string
	Mode         TrackingMode
	CreditAmount int64 // units a session checkout consumes; quantity × CreditAmount is granted
}
