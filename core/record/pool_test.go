package record_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/record"
)

// TestPoolRecords: every pool record decodes back to what was written, and every cut of one,
// or a byte changed where the format allows only some values, is ErrBadRecord.
func TestPoolRecords(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 5, time.UTC)
	recs := []record.Pool{
		{Op: record.PoolLicense, Time: 7, Epoch: 3, License: "L", Meta: &record.PoolMeta{Owner: "organizations/o", Item: "PdfPro",
			ProductID: "p", Created: 5, First: 1, Credits: []record.Credit{
				{ID: "c1", TxItemID: "t1", Window: licensing.Window{From: from, Until: from.Add(time.Hour)}, UseCount: 15_000},
				{ID: "c2", TxItemID: "t2", Window: licensing.Window{From: from, Open: true}, UseCount: 1}}}},
		{Op: record.PoolLease, Time: 8, Epoch: 3, License: "L", Credit: 1, Units: 1000},
		{Op: record.PoolReturn, Time: 9, Epoch: 3, License: "L", Credit: 0, Units: 12, Reason: record.ReturnFenced},
		{Op: record.PoolEpoch, Time: 10, Epoch: 4},
	}
	for _, want := range recs {
		b := want.AppendTo(nil)
		rec, err := record.Decode(b)
		if err != nil {
			t.Fatalf("%+v: %v", want, err)
		}
		if rec.Pool == nil || !reflect.DeepEqual(*rec.Pool, want) || rec.Time() != want.Time {
			t.Fatalf("decoded %+v, want %+v", rec.Pool, want)
		}
		for n := range len(b) {
			if _, err := record.Decode(b[:n]); !errors.Is(err, record.ErrBadRecord) {
				t.Fatalf("%v cut at %d: %v", want.Op, n, err)
			}
		}
	}
	bad := recs[2].AppendTo(nil)
	bad[len(bad)-1] = 9 // no such reason
	if _, err := record.Decode(bad); !errors.Is(err, record.ErrBadRecord) {
		t.Fatalf("bad reason: %v", err)
	}
	op := recs[3].AppendTo(nil)
	op[3] = 42 // no such op (version, kind, time 10 in one byte, then the op)
	if _, err := record.Decode(op); !errors.Is(err, record.ErrBadRecord) {
		t.Fatalf("bad op: %v", err)
	}
}

func TestHeldState(t *testing.T) {
	held := []int64{0, 999, 1}
	st, err := record.DecodeState(record.HeldKey("L"), record.AppendHeld(nil, held))
	if err != nil || st.Key != "L" || !reflect.DeepEqual(st.Held, held) {
		t.Fatalf("held state: %+v %v", st, err)
	}
	neg := record.AppendHeld(nil, []int64{-1})
	if _, err := record.DecodeState(record.HeldKey("L"), neg); !errors.Is(err, record.ErrBadRecord) {
		t.Fatalf("negative held: %v", err)
	}
}
