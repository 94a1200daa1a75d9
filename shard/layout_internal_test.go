package shard

import (
	"testing"
	"unsafe"
)

// The fast path's cache behaviour rests on these sizes: a License or a
// paddedCredit fills exactly one 128-byte size class slot, so it is 128-byte
// aligned and shares its lines with nothing else; a slot and an alias entry
// keep to 16 and 64 bytes.
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
}
