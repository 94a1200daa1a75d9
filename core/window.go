package core

import (
	"encoding/binary"
	"math"
	"time"
)

// Window is a credit's validity [From, Until), held exactly: an order may name any RFC 3339
// date-time from year 1 to 9999, and unix nanoseconds only reach from 1678 to 2262 (a
// licenseValidUntil of 5000 would wrap to 2077, a licenseValidFrom of 2600 to 2015). Open marks
// a credit ordered without licenseValidUntil; Until is then zero.
type Window struct {
	From, Until time.Time // UTC
	Open        bool
}

// windowNS is the window of a record or state written before windows were held exactly: unix
// ns, math.MaxInt64 for an open end.
func windowNS(from, until int64) Window {
	w := Window{From: time.Unix(0, from).UTC()}
	if until == math.MaxInt64 {
		w.Open = true
	} else {
		w.Until = time.Unix(0, until).UTC()
	}
	return w
}

// ns is the window as shard decides with it, in unix ns. A bound outside int64 nanoseconds
// saturates, keeping its order to every time a decision can use (the engine's clock stays
// inside the range, see wallNS): a from after 2262 is never reached, an until after 2262 never
// passes. From saturates one short of math.MaxInt64 and Until one past math.MinInt64, so that
// an ordered window stays non-empty, and math.MaxInt64 stays the open end.
func (w Window) ns() (from, until int64) {
	from = min(satNS(w.From), math.MaxInt64-1)
	if w.Open {
		return from, math.MaxInt64
	}
	return from, max(satNS(w.Until), math.MinInt64+1)
}

func satNS(t time.Time) int64 {
	switch {
	case t.Before(minNSTime):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// appendInstant writes t exactly: unix seconds (varint), then nanoseconds (uvarint).
func appendInstant(b []byte, t time.Time) []byte {
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

func (w Window) appendTo(b []byte) []byte {
	b = appendBool(appendInstant(b, w.From), w.Open)
	if !w.Open {
		b = appendInstant(b, w.Until)
	}
	return b
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
func (r *reader) windowNS() Window { return r.checked(windowNS(r.varint(), r.varint())) }

func (r *reader) window() Window {
	w := Window{From: r.instant(), Open: r.bool()}
	if !w.Open {
		w.Until = r.instant()
	}
	return r.checked(w)
}

// checked fails the read of a window that holds no instant: provisioning never writes one.
func (r *reader) checked(w Window) Window {
	if r.err == nil && !w.Open && !w.Until.After(w.From) {
		r.fail("empty credit window")
	}
	return w
}
