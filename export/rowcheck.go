package export

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// rowChecker holds what checking a row needs from the rows before it.
// Once the MAC holds, these checks only fail for a file written with the key
// by something other than this package; they keep reports from trusting
// such rows.
type rowChecker struct {
	level    Level
	seg      segInfo
	batch    int64
	last     time.Time               // time of the previous row
	licenses map[string]licenseTrail // by license_id; from earlier segments too, when joined
	// carrying is true while a later segment's opening carry rows may still come, and
	// carried holds the licenses they carried.
	carrying bool
	carried  map[string]bool
}

// licenseTrail is where a license's counter stood after its last row.
type licenseTrail struct {
	consumed int64
	seq      int64
	time     time.Time
}

// Gap is a row of action unexported: units the agent consumed but wrote no
// actions for, between the license's previous row (Since; zero when the
// license has none) and this row's time (Until).
type Gap struct {
	Seq                    int64
	Owner, Item, LicenseID string
	Units                  int64
	Since, Until           time.Time
}

func newRowChecker(level Level, seg segInfo) *rowChecker {
	return &rowChecker{level: level, seg: seg, licenses: make(map[string]licenseTrail),
		carrying: seg.segment > 1, carried: make(map[string]bool)}
}

func (c *rowChecker) check(r *row, s *Summary) string {
	if reason := c.checkValues(r); reason != "" {
		return reason
	}
	t, _ := parseTime(r[colTime].s)
	if t.Before(c.last) {
		return fmt.Sprintf("time %s is before the previous row's %s", r[colTime].s, c.last.Format(time.RFC3339Nano))
	}
	kind, _ := parseKind(r[colAction].s)
	if reason := c.checkPeriod(r, kind, t); reason != "" {
		return reason
	}
	if reason := c.checkConsumed(r, kind, t, s); reason != "" {
		return reason
	}
	if kind.billable() {
		if r[colUnits].i > math.MaxInt64-s.Units {
			return "units total overflows"
		}
		s.Units += r[colUnits].i
	}
	c.batch, c.last = r[colBatch].i, t
	s.Rows++
	s.LastSeq = r[colSeq].i
	if s.FirstSeq == 0 {
		s.FirstSeq = s.LastSeq
	}
	return ""
}

// checkConsumed checks the license's counter: a row that consumes adds its
// units to the previous row's license_consumed, any other row repeats it.
// A row whose counter jumped names the units that have no row.
func (c *rowChecker) checkConsumed(r *row, kind ActionKind, t time.Time, s *Summary) string {
	id, units, got := r[colLicenseID].s, r[colUnits].i, r[colLicenseConsumed].i
	prev, seen := c.licenses[id]
	if kind == Carry {
		return c.checkCarry(r, prev, seen, t)
	}
	want := prev.consumed
	if kind.billable() {
		want += units // cannot overflow: both are at most maxConsumed
	}
	if got != want {
		after := "the license's first row"
		if seen {
			after = fmt.Sprintf("seq %d left it at %d", prev.seq, prev.consumed)
		}
		return fmt.Sprintf("license %s (%s %s): license_consumed %d, but %s and this row adds %d: %d units without a row",
			id, r[colOwner].s, r[colItem].s, got, after, want-prev.consumed, got-want)
	}
	if kind == Unexported {
		s.Gaps = append(s.Gaps, Gap{Seq: r[colSeq].i, Owner: r[colOwner].s, Item: r[colItem].s,
			LicenseID: id, Units: units, Since: prev.time, Until: t})
	}
	c.licenses[id] = licenseTrail{consumed: got, seq: r[colSeq].i, time: t}
	return ""
}

func (c *rowChecker) checkValues(r *row) string {
	for _, col := range [...]int{colBatch, colUnits, colEvents, colLicenseConsumed} {
		if r[col].tag != tagInteger {
			return fmt.Sprintf("%s is not an integer", colNames[col])
		}
	}
	for _, col := range [...]int{colTime, colAction, colOwner, colItem, colLicenseID} {
		if r[col].tag != tagText {
			return fmt.Sprintf("%s is not text", colNames[col])
		}
	}
	batch, units, events, consumed := r[colBatch].i, r[colUnits].i, r[colEvents].i, r[colLicenseConsumed].i
	kind, kindOK := parseKind(r[colAction].s)
	switch {
	case batch != c.batch && batch != c.batch+1:
		return fmt.Sprintf("batch %d after batch %d", batch, c.batch)
	case !validTime(r[colTime].s):
		return fmt.Sprintf("time %q is not RFC 3339 UTC", r[colTime].s)
	case !kindOK:
		return fmt.Sprintf("unknown action %q", r[colAction].s)
	case units < 0 || units > maxConsumed:
		return fmt.Sprintf("units %d", units)
	case consumed < 0 || consumed > maxConsumed:
		return fmt.Sprintf("license_consumed %d", consumed)
	case (kind == Unexported || kind == Carry) && events != 0:
		return fmt.Sprintf("events %d in an %s row", events, kind)
	case kind == Carry && units != 0:
		return fmt.Sprintf("units %d in a carry row", units)
	case kind != Unexported && kind != Carry && (events < 1 || c.level == Detailed && events != 1):
		return fmt.Sprintf("events %d at %s level", events, c.level)
	case kind == Provision && events != 1:
		return fmt.Sprintf("events %d in a provision row (one row per item)", events)
	}
	if reason := c.checkUserData(r, kind); reason != "" {
		return reason
	}
	return checkVendorColumns(r, kind)
}

// checkVendorColumns checks the provisioning evidence: only provision rows carry it; each
// names its transaction's externalId, and a signature comes with the request it covers.
// Whether the signature verifies is the vendor key's question (provisions.go), not the
// chain's: a file with an unsigned or badly signed provision is intact, and says so.
func checkVendorColumns(r *row, kind ActionKind) string {
	if kind != Provision {
		for col := colExternalID; col <= colVendorRequest; col++ {
			if r[col].tag != tagNull {
				return fmt.Sprintf("%s in a %s row", colNames[col], kind)
			}
		}
		return ""
	}
	sig, req := r[colVendorSignature], r[colVendorRequest]
	switch {
	case r[colExternalID].tag != tagText || r[colExternalID].s == "":
		return "external_id of a provision is not text"
	case sig.tag == tagNull && req.tag == tagNull:
		return ""
	case sig.tag != tagText || req.tag != tagText:
		return "vendor_signature and vendor_request are not both text"
	}
	if _, err := ParseSignature(sig.s); err != nil {
		return "vendor_signature: " + strings.TrimPrefix(err.Error(), ErrBadSignature.Error()+": ")
	}
	return ""
}

func (c *rowChecker) checkUserData(r *row, kind ActionKind) string {
	for col := colSession; col <= colIPAddress; col++ {
		switch t := r[col].tag; {
		case c.level == Standard && t != tagNull:
			return fmt.Sprintf("%s holds user data at standard level", colNames[col])
		case (kind == Unexported || kind == Carry) && t != tagNull:
			return fmt.Sprintf("%s holds user data in an %s row", colNames[col], kind)
		case t != tagNull && t != tagText:
			return fmt.Sprintf("%s is not text", colNames[col])
		}
	}
	return ""
}

// checkPeriod keeps a segment's rows inside its period, and its carry rows at its start: each
// in its first batch, before any other row, at the period's first instant. A segment made
// open-ended (rotation turned off) has no period to check against.
func (c *rowChecker) checkPeriod(r *row, kind ActionKind, t time.Time) string {
	if kind == Carry {
		switch {
		case !c.carrying:
			return "carry row after the segment's opening rows"
		case r[colBatch].i != 1:
			return fmt.Sprintf("carry row in batch %d, not the segment's first", r[colBatch].i)
		case c.seg.period != "" && !t.Equal(c.seg.start):
			return fmt.Sprintf("carry row at %s, not at the start of period %s", r[colTime].s, c.seg.period)
		}
		return ""
	}
	c.carrying = false
	switch {
	case c.seg.period == "":
		return ""
	case !t.Before(c.seg.end):
		return fmt.Sprintf("time %s is past period %s", r[colTime].s, c.seg.period)
	case c.seg.segment > 1 && t.Before(c.seg.start):
		return fmt.Sprintf("time %s is before period %s", r[colTime].s, c.seg.period)
	}
	return ""
}

// checkCarry checks a carry row's counter against where the license's previous row, in an
// earlier segment verified in the same run, left it; a segment verified on its own takes the
// carried counter as the license's starting point.
func (c *rowChecker) checkCarry(r *row, prev licenseTrail, seen bool, t time.Time) string {
	id, got := r[colLicenseID].s, r[colLicenseConsumed].i
	switch {
	case c.carried[id]:
		return fmt.Sprintf("license %s carried twice", id)
	case seen && got != prev.consumed:
		return fmt.Sprintf("license %s (%s %s): carried license_consumed %d, but seq %d of the previous segment left it at %d: %d units without a row",
			id, r[colOwner].s, r[colItem].s, got, prev.seq, prev.consumed, got-prev.consumed)
	}
	c.carried[id] = true
	c.licenses[id] = licenseTrail{consumed: got, seq: r[colSeq].i, time: t}
	return ""
}
