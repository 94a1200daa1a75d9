package record

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/shard"
)

func sampleRecords() []Record {
	return []Record{
		{Decision: &Decision{Kind: DecConsume, Time: 1_700_000_000_123456789, License: "lic-1", Units: 4,
			Parts: []shard.Part{{Credit: 0, Units: 3}, {Credit: 2, Units: 1}}, Remaining: 14996,
			Outcome: shard.Granted, Session: "s-1", User: "alice", Host: "ws-17", IP: "10.0.0.5",
			IdemKey: "k-1", IdemHash: [16]byte{1, 2, 3}}},
		{Decision: &Decision{Kind: DecDeny, Time: 5, License: "lic-1", Units: 9, Remaining: 3, Outcome: shard.Exhausted}},
		{Decision: &Decision{Kind: DecSessionUse, Time: -1, License: "l", Session: "é ✓", Outcome: shard.Granted}},
		{Checkin: &Checkin{Time: 42, License: "lic-1", Session: "s-1", User: "alice", Timeout: true}},
		{Product: &Product{Time: 7, Product: licensing.Product{ID: "p", Name: "PdfPro", LicensedItem: "PdfPro",
			Mode: licensing.TrackCallerCount, CreditAmount: 3}}},
		{Provision: &Provision{Time: 9, TxID: "tx", ExternalID: "0000004556786", Type: "Order",
			Owner: "organizations/o", Hash: [32]byte{9}, Tx: sampleTx(),
			Items: []ProvisionItem{{ID: "i", ExternalID: "e", ProductID: "p", Quantity: 15000,
				Window: licensing.Window{From: time.Unix(0, 1).UTC(), Open: true}, LicenseID: "l", NewLicense: true,
				LicensedItem: "PdfPro", CreditID: "c", UseCount: 15000},
				{ID: "j", ProductID: "p", Quantity: 1, Window: licensing.Window{From: time.Date(2600, 1, 1, 0, 0, 0, 0, time.UTC),
					Until: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}, LicenseID: "l", CreditID: "d", UseCount: 1},
				{ID: "k", ProductID: "p", Quantity: 1, Window: licensing.Window{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
					Until: time.Date(1677, 1, 1, 0, 0, 0, 1, time.UTC)}, LicenseID: "l", CreditID: "e", UseCount: 1}}}},
		{Provision: &Provision{Time: 10, TxID: "tx2", ExternalID: "o-2", Type: "Order", Owner: "users/u",
			Hash: [32]byte{7}, Tx: &licensing.Transaction{ID: "tx2", Type: "Order", ExternalID: "o-2", Processed: time.Unix(10, 0).UTC()}, Items: []ProvisionItem{{ID: "i", ProductID: "p", Quantity: 2,
				Window: licensing.Window{From: time.Unix(5, 0).UTC(), Open: true}, LicenseID: "l2", NewLicense: true,
				LicensedItem: "Viewer", CreditID: "c", UseCount: 4}},
			Signature: "ed25519=" + strings.Repeat("A", 86) + "==",
			Request:   []byte("POST /users/u/license-transactions\n{\"transaction\":{}}")}},
		{Batch: []*Decision{
			{Kind: DecConsume, Time: 11, License: "lic-1", Units: 2, Parts: []shard.Part{{Credit: 1, Units: 2}},
				Remaining: 7, Outcome: shard.Granted, User: "bob", IdemKey: "b-1", IdemHash: [16]byte{4}},
			{Kind: DecDeny, Time: 12, License: "lic-2", Units: 8, Remaining: 7, Outcome: shard.Exhausted},
			{Kind: DecConsume, Time: 13, License: "lic-1", Units: 1, Parts: []shard.Part{{Credit: 0, Units: 1}, {Credit: 1, Units: 0}},
				Remaining: 6, Outcome: shard.Granted},
		}},
	}
}

// sampleTx is a first answer with two items of one license and one of another.
func sampleTx() *licensing.Transaction {
	at := time.Date(2026, 12, 6, 12, 0, 0, 5, time.UTC)
	w := licensing.Window{From: at, Until: at.AddDate(1, 0, 0)}
	lic := licensing.LicenseView{ID: "l", Owner: "organizations/o", Item: "PdfPro", ProductID: "p", ProductName: "Pdf Pro",
		Mode: licensing.TrackCallerCount, At: at, Credits: []licensing.CreditView{
			{ID: "c0", TransactionItemID: "old", Window: licensing.Window{From: at.AddDate(-1, 0, 0), Open: true}, UseCount: 10, CountUsed: 4, Active: true},
			{ID: "c", TransactionItemID: "i", Window: w, UseCount: 15000, Active: true}}}
	other := licensing.LicenseView{ID: "m", Owner: "organizations/o", Item: "Viewer", ProductID: "v", Mode: licensing.TrackSessions, At: at}
	return &licensing.Transaction{ID: "tx", Type: "Order", ExternalID: "0000004556786", Processed: at, Items: []licensing.TransactionItem{
		{ID: "i", ExternalID: "e", ProductID: "p", Quantity: 15000, Window: w, License: lic},
		{ID: "j", ProductID: "p", Quantity: 1, Window: w, License: lic},
		{ID: "k", ProductID: "v", Quantity: 2, Window: licensing.Window{From: at, Open: true}, License: other}}}
}

func encode(r Record) []byte {
	switch {
	case r.Decision != nil:
		return r.Decision.AppendTo(nil, r.Decision.Parts)
	case r.Checkin != nil:
		return r.Checkin.AppendTo(nil)
	case r.Product != nil:
		return r.Product.AppendTo(nil)
	case r.Pool != nil:
		return r.Pool.AppendTo(nil)
	case r.Batch != nil:
		ds := make([]Decision, len(r.Batch))
		for i, d := range r.Batch {
			ds[i] = *d
		}
		return new(BatchEncoder).Append(nil, 0, ds)
	}
	return r.Provision.AppendTo(nil)
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		b := encode(r)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %x: %v", b, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, r)
		}
		for cut := range len(b) {
			if _, err := Decode(b[:cut]); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("record cut to %d of %d bytes: got %v, want ErrBadRecord", cut, len(b), err)
			}
		}
		if _, err := Decode(append(b, 0)); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("trailing byte: got %v, want ErrBadRecord", err)
		}
	}
}

// The peer address stands in for an empty ip in the record, as detailed rows need it.
func TestRecordPeerAddress(t *testing.T) {
	d := Decision{Kind: DecConsume, License: "l", Units: 1, Outcome: shard.Granted}
	d.Peer = mustAddr("192.0.2.7")
	got, err := Decode(d.AppendTo(nil, d.Parts))
	if err != nil || got.Decision.IP != "192.0.2.7" {
		t.Fatalf("got %+v %v", got.Decision, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encode(r))
	}
	f.Add([]byte{recordVersion, byte(recProvision), 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(appendBatchV1(nil, 7, sampleRecords()[len(sampleRecords())-1].Batch))
	for _, p := range []Pool{
		{Op: PoolEpoch, Time: 1, Epoch: 3},
		{Op: PoolLease, Time: 2, Epoch: 3, License: "l", Credit: 1, Units: 1000},
		{Op: PoolReturn, Time: 3, Epoch: 3, License: "l", Units: 10, Reason: ReturnFenced},
		{Op: PoolLicense, Time: 4, Epoch: 3, License: "l", Meta: &PoolMeta{Owner: "organizations/o", Item: "Item",
			ProductID: "p", Created: 4, First: 1, Credits: []Credit{{ID: "c", TxItemID: "i", UseCount: 5}}}},
	} {
		f.Add(p.AppendTo(nil))
	}
	var dirty Decoder // reused across inputs, as the applier's is
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		fast, ferr := dirty.Decode(b)
		if (ferr == nil) != (err == nil) || err == nil && !reflect.DeepEqual(fast, r) {
			t.Fatalf("the applier's decoder disagrees: %v\n%+v\n%+v", ferr, fast, r)
		}
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		again, err := Decode(encode(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding a decoded record: %v\n%+v\n%+v", err, r, again)
		}
	})
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// appendBatchV1 is the batch format earlier builds wrote: whole decision bodies.
func appendBatchV1(b []byte, t int64, ds []*Decision) []byte {
	b = binary.AppendUvarint(appendHeader(b, recBatch, t), uint64(len(ds)))
	for _, d := range ds {
		b = d.appendTimed(b, d.Parts)
	}
	return b
}

// Logs written before batches were packed still replay.
func TestRecordBatchV1(t *testing.T) {
	want := sampleRecords()[len(sampleRecords())-1]
	for _, dec := range []func([]byte) (Record, error){Decode, new(Decoder).Decode} {
		got, err := dec(appendBatchV1(nil, 99, want.Batch))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v %v, want %+v", got, err, want)
		}
	}
}

// A packed batch writes a license and the peer's address once, not once per item, and each
// item still reads back with its own time and the peer as its ip.
func TestRecordBatchPacked(t *testing.T) {
	const n = 1000
	ds := make([]Decision, n)
	for i := range ds {
		ds[i] = Decision{Kind: DecConsume, Time: 1_700_000_000_000_000_000 + int64(i)*1500, License: "00000000-0911-8f8e-88eb-7fc28f9d7eb6",
			Units: 1, Parts: []shard.Part{{Credit: 0, Units: 1}}, Remaining: int64(1e9 - i), Outcome: shard.Granted, Peer: mustAddr("127.0.0.1")}
	}
	var w BatchEncoder
	b := w.Append(nil, ds[0].Time, ds)
	// What is left per item is mostly its own: Δtime 3 bytes, remaining 5, parts 3.
	if per := len(b) / n; per > 24 {
		t.Fatalf("%d bytes per item, want at most 24 (plain decision bodies take about 71)", per)
	}
	got, err := Decode(b)
	if err != nil || len(got.Batch) != n {
		t.Fatalf("decode: %v, %d items", err, len(got.Batch))
	}
	for i, d := range got.Batch {
		if d.Time != ds[i].Time || d.License != ds[i].License || d.IP != "127.0.0.1" || d.Remaining != ds[i].Remaining {
			t.Fatalf("item %d: got %+v", i, d)
		}
	}
	short := AppendStr(binary.AppendUvarint(appendHeader(nil, recBatchPacked, 0), 5), "x")
	if _, err := Decode(binary.AppendUvarint(short, 0)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("a table of 5 strings holding 1: %v", err)
	}
	bad := binary.AppendUvarint(AppendStr(binary.AppendUvarint(appendHeader(nil, recBatchPacked, 0), 1), "lic"), 1)
	bad = append(binary.AppendVarint(bad, 0), byte(DecConsume), 3) // license index 3 of a 1-string table
	if _, err := Decode(append(bad, make([]byte, 12)...)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("an index beyond the table: %v", err)
	}
}

// A provision record of an earlier build, with windows in unix ns, still replays: what it held
// (within the years 1678 to 2262 that ns could hold) reads back the same, an absent
// licenseValidUntil as an open window.
func TestRecordProvisionNS(t *testing.T) {
	b := appendHeader(nil, recProvisionNS, 9)
	b = AppendStr(AppendStr(AppendStr(AppendStr(b, "tx"), "ext"), "Order"), "organizations/o")
	b = append(b, make([]byte, 32)...)
	b = binary.AppendUvarint(b, 2)
	for _, until := range []int64{1_800_000_000_000000000, math.MaxInt64} {
		b = AppendStr(AppendStr(AppendStr(b, "i"), "e"), "p")
		b = binary.AppendVarint(b, 5)
		b = binary.AppendVarint(binary.AppendVarint(b, 1_700_000_000_000000001), until)
		b = AppendBool(AppendStr(b, "l"), true)
		b = binary.AppendVarint(AppendStr(AppendStr(b, "PdfPro"), "c"), 5)
	}
	b = AppendStr(b, `{"transaction":{"id":"tx","type":"Order","externalId":"ext","processed":"2023-11-14T22:13:20Z","items":[]}}`)
	rec, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1_700_000_000, 1).UTC()
	want := []licensing.Window{{From: from, Until: time.Unix(1_800_000_000, 0).UTC()}, {From: from, Open: true}}
	for i, w := range want {
		if got := rec.Provision.Items[i].Window; got != w {
			t.Fatalf("item %d: window %+v, want %+v", i, got, w)
		}
	}
}
