package core

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/meterd/meterd/shard"
)

func sampleRecords() []record {
	return []record{
		{Decision: &decision{Kind: decConsume, Time: 1_700_000_000_123456789, License: "lic-1", Units: 4,
			Parts: []shard.Part{{Credit: 0, Units: 3}, {Credit: 2, Units: 1}}, Remaining: 14996,
			Outcome: shard.Granted, Session: "s-1", User: "alice", Host: "ws-17", IP: "10.0.0.5",
			IdemKey: "k-1", IdemHash: [16]byte{1, 2, 3}}},
		{Decision: &decision{Kind: decDeny, Time: 5, License: "lic-1", Units: 9, Remaining: 3, Outcome: shard.Exhausted}},
		{Decision: &decision{Kind: decSessionUse, Time: -1, License: "l", Session: "é ✓", Outcome: shard.Granted}},
		{Checkin: &checkinRec{Time: 42, License: "lic-1", Session: "s-1", User: "alice", Timeout: true}},
		{Product: &productRec{Time: 7, Product: Product{ID: "p", Name: "PdfPro", LicensedItem: "PdfPro",
			Mode: TrackCallerCount, CreditAmount: 3}}},
		{Provision: &provisionRec{Time: 9, TxID: "tx", ExternalID: "0000004556786", Type: "Order",
			Owner: "organizations/o", Hash: [32]byte{9}, Response: []byte(`{"transaction":{}}`),
			Items: []provisionItem{{ID: "i", ExternalID: "e", ProductID: "p", Quantity: 15000, From: 1,
				Until: openEnded, LicenseID: "l", NewLicense: true, LicensedItem: "PdfPro", CreditID: "c", UseCount: 15000}}}},
		{Batch: []*decision{
			{Kind: decConsume, Time: 11, License: "lic-1", Units: 2, Parts: []shard.Part{{Credit: 1, Units: 2}},
				Remaining: 7, Outcome: shard.Granted, User: "bob", IdemKey: "b-1", IdemHash: [16]byte{4}},
			{Kind: decDeny, Time: 12, License: "lic-2", Units: 8, Remaining: 7, Outcome: shard.Exhausted},
			{Kind: decConsume, Time: 13, License: "lic-1", Units: 1, Parts: []shard.Part{{Credit: 0, Units: 1}, {Credit: 1, Units: 0}},
				Remaining: 6, Outcome: shard.Granted},
		}},
	}
}

func encode(r record) []byte {
	switch {
	case r.Decision != nil:
		return r.Decision.appendTo(nil)
	case r.Checkin != nil:
		return r.Checkin.appendTo(nil)
	case r.Product != nil:
		return r.Product.appendTo(nil)
	case r.Batch != nil:
		ds := make([]decision, len(r.Batch))
		for i, d := range r.Batch {
			ds[i] = *d
		}
		return appendBatch(nil, 0, ds)
	}
	return r.Provision.appendTo(nil)
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		b := encode(r)
		got, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("decode %x: %v", b, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, r)
		}
		for cut := range len(b) {
			if _, err := decodeRecord(b[:cut]); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("record cut to %d of %d bytes: got %v, want ErrBadRecord", cut, len(b), err)
			}
		}
		if _, err := decodeRecord(append(b, 0)); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("trailing byte: got %v, want ErrBadRecord", err)
		}
	}
}

// The peer address stands in for an empty ip in the record, as detailed rows need it.
func TestRecordPeerAddress(t *testing.T) {
	d := decision{Kind: decConsume, License: "l", Units: 1, Outcome: shard.Granted}
	d.peer = mustAddr("192.0.2.7")
	got, err := decodeRecord(d.appendTo(nil))
	if err != nil || got.Decision.IP != "192.0.2.7" {
		t.Fatalf("got %+v %v", got.Decision, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encode(r))
	}
	f.Add([]byte{recordVersion, byte(recProvision), 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	var dirty decoder // reused across inputs, as the applier's is
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		fast, ferr := dirty.decode(b)
		if (ferr == nil) != (err == nil) || err == nil && !reflect.DeepEqual(fast, r) {
			t.Fatalf("the applier's decoder disagrees: %v\n%+v\n%+v", ferr, fast, r)
		}
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		again, err := decodeRecord(encode(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding a decoded record: %v\n%+v\n%+v", err, r, again)
		}
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
