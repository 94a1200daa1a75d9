package record

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/meterd/meterd/core/licensing"
)

// Instants and windows are written exactly (licensing.Window says why):
//
//	instant : unix seconds varint ‖ nanoseconds uvarint
//	window  : from instant ‖ open byte ‖ [until instant, unless open]

// AppendInstant writes t exactly: unix seconds (varint), then nanoseconds (uvarint).
func AppendInstant(b []byte, t time.Time) []byte {
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

func appendWindow(b []byte, w licensing.Window) []byte {
	b = AppendBool(AppendInstant(b, w.From), w.Open)
	if !w.Open {
		b = AppendInstant(b, w.Until)
	}
	return b
}

// windowNS is the window of a record or state written before windows were held exactly: unix
// ns, math.MaxInt64 for an open end.
func windowNS(from, until int64) licensing.Window {
	w := licensing.Window{From: time.Unix(0, from).UTC()}
	if until == math.MaxInt64 {
		w.Open = true
	} else {
		w.Until = time.Unix(0, until).UTC()
	}
	return w
}

func (r *reader) instant() time.Time {
	sec, nsec := r.varint(), r.uvarint()
	if nsec >= uint64(time.Second) {
		r.fail("nanoseconds out of range")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// windowNS reads the window of an earlier build's record or state: unix ns, from then until.
func (r *reader) windowNS() licensing.Window { return r.checked(windowNS(r.varint(), r.varint())) }

func (r *reader) window() licensing.Window {
	w := licensing.Window{From: r.instant(), Open: r.bool()}
	if !w.Open {
		w.Until = r.instant()
	}
	return r.checked(w)
}

// checked fails the read of a window that holds no instant: provisioning never writes one.
func (r *reader) checked(w licensing.Window) licensing.Window {
	if r.err == nil && !w.Open && !w.Until.After(w.From) {
		r.fail("empty credit window")
	}
	return w
}
