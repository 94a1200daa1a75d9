package httpapi

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// plainEnd finds the same byte as a byte-at-a-time loop, in both modes and on both input
// types: every byte that ends a run, at every offset of a 24-byte run, over backgrounds that
// provoke SWAR borrows.
func TestPlainEnd(t *testing.T) {
	naive := func(b []byte, i int, nonASCII bool) int {
		for ; i < len(b); i++ {
			if c := b[i]; c < 0x20 || c == '"' || c == '\\' || nonASCII && c >= utf8.RuneSelf {
				break
			}
		}
		return i
	}
	for _, bg := range []byte{'a', ' ', 0x21, 0x23, 0x5d, 0x7f, 0x80, 0xc3, 0xff} {
		for _, special := range []byte{'"', '\\', 0x00, 0x01, 0x1f, 0x20, 0x80, 0xc3, 0xff} {
			for n := range 24 {
				for at := -1; at < n; at++ {
					b := bytes.Repeat([]byte{bg}, n)
					if at >= 0 {
						b[at] = special
					}
					for from := range min(n, 9) + 1 {
						for _, nonASCII := range []bool{false, true} {
							want := naive(b, from, nonASCII)
							if got := plainEnd(b, from, nonASCII); got != want {
								t.Fatalf("%x from %d, nonASCII %v: got %d, want %d", b, from, nonASCII, got, want)
							}
							if got := plainEnd(string(b), from, nonASCII); got != want {
								t.Fatalf("string %x from %d, nonASCII %v: got %d, want %d", b, from, nonASCII, got, want)
							}
						}
					}
				}
			}
		}
	}
}
