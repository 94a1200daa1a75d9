package export

import (
	"errors"
	"math"
	"testing"
	"time"
)

// utcDay is the day in a Standard row's key: a day off at midnight, or
// before 1970 where Unix seconds are negative, puts actions of two days in
// one row and breaks `meterctl report -by day`.
func TestUTCDayFloorsAtMidnight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		t    time.Time
		want int64
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1970, 1, 1, 23, 59, 59, 999999999, time.UTC), 0},
		{time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), 1},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 20788},
		{time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), 20787},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), -1},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), -1},
		{time.Date(1969, 12, 30, 23, 59, 59, 0, time.UTC), -2},
		{time.Date(1969, 12, 30, 0, 0, 0, 0, time.UTC), -2},
		{time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 20787}, // 23:30 UTC the day before
	}
	for _, c := range cases {
		if got := utcDay(c.t); got != c.want {
			t.Errorf("utcDay(%s) = %d, want %d", c.t.Format(time.RFC3339Nano), got, c.want)
		}
	}
}

// Units of one row may add up to exactly math.MaxInt64: only a sum past it
// overflows, and the row's sum must not be refused one unit early.
func TestAggregateSumsToExactlyMaxInt64(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	act := func(seq uint64, units int64) Action {
		return Action{WALSeq: seq, Time: at, Kind: Consume, Owner: "o", Item: "i", LicenseID: "lic", Units: units}
	}
	var w writeScratch
	if err := w.aggregate([]Action{act(1, math.MaxInt64-1), act(2, 1)}); err != nil {
		t.Fatalf("two actions summing to MaxInt64: %v", err)
	}
	if len(w.agg) != 1 || w.agg[0].units != math.MaxInt64 || w.agg[0].events != 2 {
		t.Fatalf("got %+v, want one row of MaxInt64 units and 2 events", w.agg)
	}
	if err := w.aggregate([]Action{act(1, math.MaxInt64), act(2, 1)}); !errors.Is(err, ErrInvalidAction) {
		t.Fatalf("a sum past MaxInt64: got %v, want ErrInvalidAction", err)
	}
}

// A report total may reach exactly math.MaxInt64 units or events; one more
// is an overflow the report must refuse rather than wrap.
func TestReportTotalsReachExactlyMaxInt64(t *testing.T) {
	t.Parallel()
	ts := totals{}
	k := totalKey{owner: "o", item: "i", period: "2026-12"}
	if !ts.add(k, 1, math.MaxInt64-1) || !ts.add(k, math.MaxInt64-1, 1) {
		t.Fatalf("sums of exactly MaxInt64 refused: %+v", ts[k])
	}
	if got := ts[k]; got.Units != math.MaxInt64 || got.Events != math.MaxInt64 {
		t.Fatalf("got %+v, want MaxInt64 units and events", got)
	}
	if ts.add(k, 1, 0) || ts.add(k, 0, 1) {
		t.Fatal("a total past MaxInt64 accepted")
	}
}
