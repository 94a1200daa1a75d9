package shard

import (
	"testing"
	"unsafe"
)

// The fast path's cache behaviour rests on these sizes: a License, a
// paddedCredit or an aliasEntry fills exactly one 128-byte size class slot,
// so it is 128-byte aligned and shares its lines with nothing else; a slot
// keeps to 16 bytes, a dense block to a License and an aliasEntry.
func TestLayout(t *testing.T) {
	f := func(name string, got, want uintptr) {
		t.Helper()
		if got != want {
			t.Errorf("sizeof(%s) = %d, want %d", name, got, want)
		}
	}
	f("License", unsafe.Sizeof(License{}), cacheLine)
	f("paddedCredit", unsafe.Sizeof(paddedCredit{}), cacheLine)
	f("slot", unsafe.Sizeof(slot{}), 16)
	f("aliasEntry", unsafe.Sizeof(aliasEntry{}), cacheLine)
	f("denseBlock", unsafe.Sizeof(denseBlock{}), 2*cacheLine)
}

// A Get by numbered id and a Take of a single-credit license read only the
// first 64 bytes of the License block: the id bytes, the flags, and credit
// 0's balance and window. The rest must be in the block too.
func TestHotFieldsInBlock(t *testing.T) {
	var tb Table
	id := tb.NewID()
	l := tb.NewLicense(id)
	l.SetValue(&tb)
	base := uintptr(unsafe.Pointer(l))
	in := func(name string, p unsafe.Pointer, n, limit uintptr) {
		t.Helper()
		if a := uintptr(p); a < base || a+n > base+limit {
			t.Errorf("%s at block offset %d..%d, outside the first %d bytes", name, a-base, a-base+n, limit)
		}
	}
	const line = 64
	in("id bytes", unsafe.Pointer(unsafe.StringData(l.ID())), uintptr(len(id)), line)
	in("flags", unsafe.Pointer(&l.flags), unsafe.Sizeof(l.flags), line)
	in("balance", unsafe.Pointer(&l.c0.balance), unsafe.Sizeof(l.c0.balance), line)
	in("from", unsafe.Pointer(&l.c0.from), unsafe.Sizeof(l.c0.from), line)
	in("until", unsafe.Pointer(&l.c0.until), unsafe.Sizeof(l.c0.until), line)
	in("credit 0", unsafe.Pointer(&l.c0), unsafe.Sizeof(l.c0), cacheLine)
	in("value", unsafe.Pointer(&l.value), unsafe.Sizeof(l.value), cacheLine)
	in("self", unsafe.Pointer(&l.self), unsafe.Sizeof(l.self), cacheLine)
}

// keep makes the licenses below escape, so they come from the heap.
var keep []any

// Allocation alignment is the allocator's, not the type's; check it.
func TestAlignment(t *testing.T) {
	defer func() { keep = nil }()
	for i := range 1000 {
		l := NewLicense("x")
		keep = append(keep, l)
		if p := uintptr(unsafe.Pointer(l)); p%cacheLine != 0 {
			t.Fatalf("license %d at %#x, not %d-byte aligned", i, p, cacheLine)
		}
		l.AddCredit(0, 1, 1, 0)
		l.AddCredit(0, 1, 1, 0)
		c := l.set.Load().byIndex[1]
		if p := uintptr(unsafe.Pointer(c)); p%cacheLine != 0 {
			t.Fatalf("credit %d at %#x, not %d-byte aligned", i, p, cacheLine)
		}
	}
	var tb Table
	for i := range 3 * chunkLen {
		if p := uintptr(unsafe.Pointer(tb.NewLicense(tb.NewID()))); p%cacheLine != 0 {
			t.Fatalf("dense license %d at %#x, not %d-byte aligned", i, p, cacheLine)
		}
	}
}
