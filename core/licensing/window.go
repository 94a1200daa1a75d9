package licensing

import (
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

// NS is the window as shard decides with it, in unix ns. A bound outside int64 nanoseconds
// saturates, keeping its order to every time a decision can use (the engine's clock stays
// inside the range, see core's wallNS): a from after 2262 is never reached, an until after 2262
// never passes. From saturates one short of math.MaxInt64 and Until one past math.MinInt64, so
// that an ordered window stays non-empty, and math.MaxInt64 stays the open end.
func (w Window) NS() (from, until int64) {
	from = min(satNS(w.From), math.MaxInt64-1)
	if w.Open {
		return from, math.MaxInt64
	}
	return from, max(satNS(w.Until), math.MinInt64+1)
}

var minNSTime = time.Unix(0, math.MinInt64)

func satNS(t time.Time) int64 {
	switch {
	case t.Before(minNSTime):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
