package shard_test

import (
	"testing"
	"unsafe"

	"github.com/meterd/meterd/shard"
)

// The hot path allocates nothing: a lookup by key string or bytes, and a
// Take whether it is served by one CAS, spills or is denied, given a buffer
// with room for the parts.
func TestZeroAllocs(t *testing.T) {
	var tb shard.Table
	ids := uuids(64)
	for _, id := range ids {
		l := shard.NewLicense(id)
		l.AddCredit(t0, tEnd, 1<<40, 0)
		tb.Put(id, l)
	}
	multi := shard.NewLicense("multi")
	multi.AddCredit(t0, 1500, 1<<40, 0)
	multi.AddCredit(t0, tEnd, 1<<40, 0)
	spill := shard.NewLicense("spill")
	for range 3 {
		spill.AddCredit(t0, tEnd, 1<<40, 0)
	}
	key := []byte(ids[7])
	buf := make([]shard.Part, 0, 4)
	i := 0
	f := func(name string, op func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, op); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
	f("Get+Take", func() {
		i++
		if tb.Get(ids[i%len(ids)]).Take(1, t0, buf).Outcome != shard.Granted {
			t.Fatal("not granted")
		}
	})
	f("GetBytes", func() {
		if tb.GetBytes(key) == nil {
			t.Fatal("not found")
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
	f("Take expired", func() { spill.Take(1, tEnd, buf) })
}

// unsafeString views b as a string without copying, as a caller parsing a
// request might.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
