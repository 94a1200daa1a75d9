package shard

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
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
	if moved.hasID(id) {
		t.Fatal("moved matches a key")
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

// Numbers beyond the dense array are hashed and do not drag NewID's
// counter up with them: one foreign id must not push every later id out.
func TestNumberBeyondDenseCap(t *testing.T) {
	var tb Table
	key := "ffffffff-0000-8000-8000-000000000000"
	l := NewLicense(key)
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

// The directory grows to the highest number Put and makes only the chunks
// that hold one.
func TestDenseChunks(t *testing.T) {
	var tb Table
	for _, n := range []uint64{5 * chunkLen, 3, 5*chunkLen + 1, denseCap - 1} {
		key := "00000000-0000-8000-8000-000000000000"
		key = strconv.FormatUint(n|1<<32, 16)[1:] + key[8:]
		l := NewLicense(key)
		tb.Put(key, l)
		if got := tb.denseLicense(n); got != l {
			t.Fatalf("slot %d holds %p, want %p", n, got, l)
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
