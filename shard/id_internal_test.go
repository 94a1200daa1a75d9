package shard

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// parseHex8 against strconv, for every byte value at every position.
func TestParseHex8(t *testing.T) {
	f := func(s string) {
		t.Helper()
		want, err := strconv.ParseUint(s, 16, 32)
		valid := err == nil && strings.ToLower(s) == s && !strings.ContainsAny(s, "+-_xX")
		got, ok := parseHex8(binary.BigEndian.Uint64([]byte(s)))
		if ok != valid || ok && got != want {
			t.Fatalf("parseHex8(%q) = %d, %v; want %d, %v", s, got, ok, want, valid)
		}
	}
	f("00000000")
	f("ffffffff")
	f("0123abcd")
	f("89efcdab")
	base := []byte("5a3c9e0f")
	for i := range base {
		for c := range 256 {
			s := []byte(string(base))
			s[i] = byte(c)
			f(string(s))
		}
	}
}

// hasID must notice a difference in any one byte.
func TestHasID(t *testing.T) {
	var tb Table
	id := tb.NewID()
	l := NewLicense(id)
	if !l.hasID(id) || !l.hasID(strings.Clone(id)) {
		t.Fatalf("hasID(%q) = false for its own id", id)
	}
	for i := range idLen {
		for _, c := range []byte{0, '-', '0', '8', 'f', 'F', 0x80 | id[i], id[i] ^ 1} {
			if c == id[i] {
				continue
			}
			k := id[:i] + string(c) + id[i+1:]
			if l.hasID(k) {
				t.Fatalf("hasID(%q) = true for id %q", k, id)
			}
		}
	}
}

// hexNumber agrees with parseHex8 wherever parseHex8 accepts.
func TestHexNumber(t *testing.T) {
	base := []byte("5a3c9e0f")
	for i := range base {
		for c := range 256 {
			s := []byte(string(base))
			s[i] = byte(c)
			x := binary.BigEndian.Uint64(s)
			if want, ok := parseHex8(x); ok && hexNumber(x) != want {
				t.Fatalf("hexNumber(%q) = %d, want %d", s, hexNumber(x), want)
			}
		}
	}
	for _, s := range []string{"00000000", "ffffffff", "0123abcd", "89efcdab"} {
		x := binary.BigEndian.Uint64([]byte(s))
		if want, _ := parseHex8(x); hexNumber(x) != want {
			t.Fatalf("hexNumber(%q) = %d, want %d", s, hexNumber(x), want)
		}
	}
}

// A block Get must not return: free, made but not yet Put, or moved.
func TestDenseBlockStates(t *testing.T) {
	var tb Table
	id := tb.NewID()
	n, _ := idNumber(id)
	free := strings.Replace(id, id[:8], fmt.Sprintf("%08x", n+1), 1) // same chunk, block never made
	l := tb.NewLicense(id)
	if l != tb.blockAt(n) {
		t.Fatalf("NewLicense(%q) built no dense block", id)
	}
	for _, k := range []string{id, free} {
		if got := tb.Get(k); got != nil {
			t.Fatalf("Get(%q) before any Put = %p, want nil", k, got)
		}
	}
	tb.Put(id, l)
	if got := tb.Get(id); got != l {
		t.Fatalf("Get(%q) = %p, want its dense block %p", id, got, l)
	}
	other := NewLicense(id)
	tb.Put(id, other)
	if got, f := tb.Get(id), l.flags.Load(); got != other || f&flagMoved == 0 {
		t.Fatalf("after Put with another License: Get = %p (want %p), block flags %b", got, other, f)
	}
	if got := tb.NewLicense(id); got == l {
		t.Fatal("NewLicense handed out a block already taken")
	}
}

// The first alias of a dense License gets the entry beside it; later ones,
// and aliases of other Licenses, get entries of their own. Each finds its
// License.
func TestDenseAliasRoom(t *testing.T) {
	var tb Table
	l := tb.NewLicense(tb.NewID())
	tb.Put(l.ID(), l)
	heap := NewLicense("heap")
	keys := []string{"users/a\x00PdfPro", "users/b\x00PdfPro", "users/c\x00PdfPro"}
	tb.Put(keys[0], l)
	tb.Put(keys[1], l)
	tb.Put(keys[2], heap)
	beside := &(*denseBlock)(unsafe.Pointer(l)).alias.entry
	for i, want := range []*License{l, l, heap} {
		if got := tb.Get(keys[i]); got != want {
			t.Fatalf("Get(%q) = %p, want %p", keys[i], got, want)
		}
		_, e := tb.slots.Load().find(hashKey(keys[i]), keys[i])
		if (e == beside) != (i == 0) {
			t.Errorf("alias %q: entry beside the License = %v, want %v", keys[i], e == beside, i == 0)
		}
	}
}

func TestIsNumberedID(t *testing.T) {
	var tb Table
	id := tb.NewID()
	f := func(key string, want bool) {
		t.Helper()
		if got := isNumberedID(key); got != want {
			t.Errorf("isNumberedID(%q) = %v, want %v", key, got, want)
		}
	}
	f(id, true)
	f("00000000-0000-8000-8000-000000000000", true)
	f("ffffffff-ffff-8fff-bfff-ffffffffffff", true)
	f("ffffffff-ffff-8fff-cfff-ffffffffffff", false) // variant 110
	f("ffffffff-ffff-4fff-bfff-ffffffffffff", false) // version 4
	f("ffffffff-ffff-8fff-bfff-fffffffffffF", false)
	f("ffffffff-ffff-8fff-bfff-fffffffffffg", false)
	f("ffffffff-ffff-8fff-bfff+ffffffffffff", false)
	f("ffffffff-ffff-8fff-bfff-fffffffffff", false)
	f("", false)
}

// Numbers beyond the dense part are hashed and do not drag NewID's
// counter up with them: one foreign id must not push every later id out.
func TestNumberBeyondDenseCap(t *testing.T) {
	var tb Table
	key := "ffffffff-0000-8000-8000-000000000000"
	l := tb.NewLicense(key)
	tb.Put(key, l)
	if got := tb.Get(key); got != l {
		t.Fatalf("Get(%q) = %p, want %p", key, got, l)
	}
	if n, _ := idNumber(tb.NewID()); n != 0 {
		t.Fatalf("NewID after a Put of number 2^32-1 gave number %d, want 0", n)
	}
	if d := tb.dense.Load(); d != nil && len(d.chunks) > 1 {
		t.Fatalf("dense directory grew to %d chunks for a number it does not keep", len(d.chunks))
	}
}

// The directory grows to the highest number made and makes only the chunks
// that hold one.
func TestDenseChunks(t *testing.T) {
	var tb Table
	for _, n := range []uint64{5 * chunkLen, 3, 5*chunkLen + 1, denseCap - 1} {
		key := "00000000-0000-8000-8000-000000000000"
		key = strconv.FormatUint(n|1<<32, 16)[1:] + key[8:]
		l := tb.NewLicense(key)
		tb.Put(key, l)
		if got := tb.blockAt(n); got != l || tb.Get(key) != l {
			t.Fatalf("block %d is %p, want %p found by Get", n, got, l)
		}
	}
	d := tb.dense.Load()
	if got, want := len(d.chunks), denseCap>>chunkBits; got != want {
		t.Fatalf("directory of %d chunks, want %d", got, want)
	}
	made := 0
	for i := range d.chunks {
		if d.chunks[i].Load() != nil {
			made++
		}
	}
	if made != 3 {
		t.Fatalf("%d chunks made, want 3", made)
	}
}
