package export

import (
	"fmt"
	"strings"
	"time"
)

// Level is how much the usage database records (USAGE_LEVEL).
type Level uint8

const (
	// Standard writes one aggregated row per batch, license, action and UTC
	// day, and no user data.
	Standard Level = iota
	// Detailed writes one row per action with session, username, hostname
	// and IP address.
	Detailed
)

// ParseLevel parses "standard" or "detailed" (case-insensitive).
func ParseLevel(s string) (Level, error) {
	switch {
	case strings.EqualFold(s, "standard"):
		return Standard, nil
	case strings.EqualFold(s, "detailed"):
		return Detailed, nil
	}
	return 0, fmt.Errorf("export: unknown usage level %q (want standard or detailed)", s)
}

// String returns "standard" or "detailed"; ParseLevel reads it back.
func (l Level) String() string {
	switch l {
	case Standard:
		return "standard"
	case Detailed:
		return "detailed"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// ActionKind is the kind of a pay-per-use action; its String is what the
// action column holds.
type ActionKind uint8

// The pay-per-use actions; the zero value is no action (Write refuses it).
// Unexported is not an action a client takes: it is the row DB.Reconcile
// writes for units the agent consumed but never wrote as actions (while the
// usage database was off, or whose WAL records were gone before export).
// Carry is not one either: a segment's opening row of a license, holding the
// license_consumed the previous segment left it at (see segment.go).
const (
	Provision ActionKind = iota + 1
	Consume
	Checkout
	Checkin
	Unexported
	Carry
)

var kindNames = [...]string{Provision: "provision", Consume: "consume", Checkout: "checkout",
	Checkin: "checkin", Unexported: "unexported", Carry: "carry"}

// String returns the name written to the action column.
func (k ActionKind) String() string {
	if k >= Provision && k <= Carry {
		return kindNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// valid reports whether Write takes the kind: every kind but Unexported,
// which only Reconcile writes, and Carry, which only a new segment holds.
func (k ActionKind) valid() bool { return k >= Provision && k <= Checkin }

// billable reports whether the kind takes units from a license: what adds
// to license_consumed and what reports total.
func (k ActionKind) billable() bool { return k == Consume || k == Checkout || k == Unexported }

func parseKind(s string) (ActionKind, bool) {
	for k := Provision; k <= Carry; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Action is one pay-per-use action; WALSeq is the agent's WAL sequence number
// of the record it came from.
type Action struct {
	WALSeq    uint64
	Time      time.Time
	Kind      ActionKind
	Owner     string // "organizations/<id>" or "users/<id>"
	Item      string // licensed item
	LicenseID string
	Units     int64 // provision: use count granted; consume/checkout: units taken; checkin: 0

	// Written only at Detailed level; an empty string is written as NULL.
	Session, Username, Hostname, IPAddress string

	// Provision only, at both levels: the transaction's externalId on each item's action, and
	// on its first item's the vendor's signature (a Meterd-Signature value) with the request
	// it covers (SignedRequest's form), both empty when the transaction was not signed.
	ExternalID, VendorSignature, VendorRequest string
}

// check rejects what Verify would reject later, so a bad action fails the
// write that carries it rather than the vendor's verification.
func (a *Action) check() error {
	switch {
	case !a.Kind.valid():
		return fmt.Errorf("%w: WAL seq %d: kind %d", ErrInvalidAction, a.WALSeq, uint8(a.Kind))
	case a.Units < 0:
		return fmt.Errorf("%w: WAL seq %d: units %d", ErrInvalidAction, a.WALSeq, a.Units)
	}
	if err := checkRowTime(a.Time); err != nil {
		return fmt.Errorf("WAL seq %d: %w", a.WALSeq, err)
	}
	if reason := a.checkVendor(); reason != "" {
		return fmt.Errorf("%w: WAL seq %d: %s", ErrInvalidAction, a.WALSeq, reason)
	}
	return nil
}

func (a *Action) checkVendor() string {
	switch {
	case a.Kind != Provision && a.ExternalID+a.VendorSignature+a.VendorRequest != "":
		return fmt.Sprintf("a %s carries provisioning evidence", a.Kind)
	case a.Kind != Provision:
		return ""
	case a.ExternalID == "":
		return "provision without an externalId"
	case (a.VendorSignature == "") != (a.VendorRequest == ""):
		return "vendor signature without its request, or the reverse"
	case a.VendorSignature != "":
		if _, err := ParseSignature(a.VendorSignature); err != nil {
			return err.Error()
		}
	}
	return ""
}
