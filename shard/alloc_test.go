package shard_test

import (
	"testing"
	"unsafe"

	"github.com/meterd/meterd/shard"
)

// The hot path allocates nothing: a lookup by numbered id, by hashed id or
// alias, as a string or bytes, and a Take whether it is served by one CAS,
// spills or is denied, given a buffer with room for the parts.
func TestZeroAllocs(t *testing.T) {
	var tb shard.Table
	ids := make([]string, 64)
	aliases := uuids(64) // version 4: hashed
	for i := range ids {
		ids[i] = tb.NewID()
		l := tb.NewLicense(ids[i])
		l.AddCredit(t0, tEnd, 1<<40, 0)
		tb.Put(ids[i], l)
		tb.Put("users/"+aliases[i]+"\x00PdfPro", l)
		tb.Put(aliases[i], l)
	}
	multi := shard.NewLicense("multi")
	multi.AddCredit(t0, 1500, 1<<40, 0)
	multi.AddCredit(t0, tEnd, 1<<40, 0)
	spill := shard.NewLicense("spill")
	for range 3 {
		spill.AddCredit(t0, tEnd, 1<<40, 0)
	}
	key, alias := []byte(ids[7]), []byte("users/"+aliases[7]+"\x00PdfPro")
	absent := ids[3][:35] + "x"
	buf := make([]shard.Part, 0, 4)
	r := shard.Result{Parts: buf}
	i := 0
	f := func(name string, op func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, op); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
	f("Get(numbered id)+Take", func() {
		i++
		if tb.Get(ids[i%len(ids)]).Take(1, t0, buf).Outcome != shard.Granted {
			t.Fatal("not granted")
		}
	})
	f("Get(hashed id)+TakeInto", func() {
		i++
		if tb.Get(aliases[i%len(aliases)]).TakeInto(&r, 1, t0); r.Outcome != shard.Granted {
			t.Fatal("not granted")
		}
	})
	f("GetBytes(numbered id)", func() {
		if tb.GetBytes(key) == nil {
			t.Fatal("not found")
		}
	})
	f("GetBytes(alias)+Take", func() {
		if tb.GetBytes(alias).Take(1, t0, buf).Outcome != shard.Granted {
			t.Fatal("not granted")
		}
	})
	f("Get(absent numbered id)", func() {
		if tb.Get(absent) != nil {
			t.Fatal("found")
		}
	})
	f("Value", func() {
		if tb.Get(ids[5]).Value() != nil {
			t.Fatal("a value nobody set")
		}
	})
	f("Take multi-credit", func() { multi.Take(1, t0, buf) })
	f("Take spill, Give", func() {
		r := spill.Take(1<<40+1, t0, buf)
		if r.Outcome != shard.Granted || len(r.Parts) != 2 {
			t.Fatalf("spill = %s, want granted from two credits", fmtResult(r))
		}
		spill.Give(r.Parts)
	})
	f("Take denied", func() { spill.Take(1<<50, t0, buf) })
	f("TakeInto denied", func() {
		if spill.TakeInto(&r, 1<<50, t0); r.Outcome != shard.Exhausted || cap(r.Parts) != cap(buf) {
			t.Fatalf("TakeInto = %s, cap %d; want exhausted, the buffer kept", fmtResult(r), cap(r.Parts))
		}
	})
	f("Take expired", func() { spill.Take(1, tEnd, buf) })
}

// unsafeString views b as a string without copying, as a caller parsing a
// request might.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
