package httpapi

// Word-at-a-time scanning of JSON text: bodies and answers are mostly ids and names with
// nothing to escape, and finding where a plain run ends a byte at a time was the largest
// single cost of parsing and writing a batch.

import (
	"math/bits"
	"unicode/utf8"
)

const ones, highs = 0x0101010101010101, 0x8080808080808080

// plainEnd returns the index of the first byte at or after i that ends a plain run of JSON
// string text, or len(b): '"', '\\' or a control byte, and with nonASCII also any byte of a
// multi-byte sequence. Reading stops at the first (what follows is copied as it is); writing
// at both (multi-byte sequences are checked for valid UTF-8).
func plainEnd[T string | []byte](b T, i int, nonASCII bool) int {
	var own uint64 // x's own high bits count as stops when nonASCII
	if nonASCII {
		own = highs
	}
	for ; i+8 <= len(b); i += 8 {
		x := load64(b, i)
		if m := (jsonSpecial(x) | x&own) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || nonASCII && c >= utf8.RuneSelf {
			break
		}
	}
	return i
}

// jsonSpecial sets the high bit of each byte of x that is '"', '\\' or a control byte (mask
// the result with highs). A borrow may also mark bytes above the first such byte, never
// below it, so only the lowest mark is exact.
func jsonSpecial(x uint64) uint64 {
	q, bs := x^(ones*'"'), x^(ones*'\\')
	return ((q - ones) &^ q) | ((bs - ones) &^ bs) | ((x - ones*0x20) &^ x)
}

// load64 reads b[i:i+8] little-endian; the compiler makes it one load.
func load64[T string | []byte](b T, i int) uint64 {
	_ = b[i+7]
	return uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
		uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
}
