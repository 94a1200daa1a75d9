package core

// Word-at-a-time scanning of JSON text: bodies and answers are mostly ids and names with
// nothing to escape, and finding where a plain run ends a byte at a time was the largest
// single cost of parsing and writing a batch.

const ones, highs = 0x0101010101010101, 0x8080808080808080

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
