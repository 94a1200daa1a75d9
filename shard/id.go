package shard

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"unsafe"
)

// A numbered id is a UUID string in canonical form (8-4-4-4-12 lower-case
// hex), RFC 9562 version 8 and variant 10, whose first 32 bits are a number
// the Table allocated and whose other 90 free bits are random:
//
//	nnnnnnnn-rrrr-8rrr-Vrrr-rrrrrrrrrrrr   n: number, big-endian hex
//	                                       r: random, V: 8, 9, a or b
//
// The number says where in Table.dense the license sits, so Get needs no
// hash; the random bits keep ids unguessable and unique, so the number need
// not be.
const (
	idLen     = 36 // a UUID string
	versionAt = 14 // index of the version digit
	variantAt = 19 // index of the variant digit
)

// NewID returns a fresh license id that Get resolves without hashing: a UUID-shaped string
// (8-4-4-4-12 lower-case hex, RFC 9562 version 8 / variant bits set) whose bits carry a number
// the table allocates, plus enough random bits that ids stay unguessable.
//
// The number is one more than the highest that NewID returned or Put saw in
// a numbered id, so ids Put at start-up must be Put before NewID is called
// for new licenses, or some new ids will share a number with an old one and
// be resolved by hash instead (correctly, only slower). Ids made by NewID
// reveal the order in which they were made and about how many there are.
func (t *Table) NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint32(b[:4], uint32(t.next.Add(1)-1)) // past 2^32, numbers repeat
	rand.Read(b[4:])                                           // never fails
	b[6] = b[6]&0x0f | 0x80                                    // version 8
	b[8] = b[8]&0x3f | 0x80                                    // variant 10
	var s [idLen]byte
	hex.Encode(s[0:8], b[0:4])
	hex.Encode(s[9:13], b[4:6])
	hex.Encode(s[14:18], b[6:8])
	hex.Encode(s[19:23], b[8:10])
	hex.Encode(s[24:36], b[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return string(s[:])
}

// idNumber returns the number a key carries if it may be a numbered id: it
// checks only the length, the version digit and the number's digits.
func idNumber(key string) (uint64, bool) {
	if len(key) != idLen || key[versionAt] != '8' {
		return 0, false
	}
	return parseHex8(binary.BigEndian.Uint64(idBytes(key)[:8]))
}

// idBytes views the bytes of key, which must be idLen long, read only. The
// array pointer spares the bounds checks that slicing the string would
// make.
func idBytes(key string) *[idLen]byte {
	return (*[idLen]byte)(unsafe.Pointer(unsafe.StringData(key)))
}

// isNumberedID reports whether key has the full shape NewID gives ids.
// NewLicense and Put use it, so that a key merely passing idNumber's test
// takes no dense block and raises no counter; Get tests less (see hexNumber).
func isNumberedID(key string) bool {
	if _, ok := idNumber(key); !ok || key[variantAt] < '8' || key[variantAt] > 'b' {
		return false
	}
	for i := range len(key) {
		switch c := key[i]; i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// hexNumber is the number of eight lower-case hex digits, the first in the
// top byte of x, and some number below 2^32 for any other eight bytes: Get
// does not need to know which, because it compares the whole key with the
// id in the block it finds, and every skipped check lets the CPU reach
// further ahead into the next lookup's cache misses.
func hexNumber(x uint64) uint64 {
	const ones = 0x0101010101010101
	v := x&(0x0f*ones) + (x>>6&ones)*9 // see parseHex8
	v = (v | v>>4) & 0x00ff00ff00ff00ff
	v = (v | v>>8) & 0x0000ffff0000ffff
	return (v | v>>16) & 0xffffffff
}

// parseHex8 decodes eight lower-case hex digits, the first in the top byte
// of x, eight at a time (SWAR): no loop, no table, no branch but the last.
func parseHex8(x uint64) (uint64, bool) {
	const ones = 0x0101010101010101
	// Digits '0'-'9' are 0x30-0x39 and 'a'-'f' 0x61-0x66: bit 6 marks a
	// letter, whose low nibble is its value less 9.
	v := x&(0x0f*ones) + (x>>6&ones)*9
	// v is a nibble per byte iff each byte is below 16. Spelling v back out
	// as hex digits then gives x iff every byte of x was one.
	letters := ((v + 0x76*ones) >> 7 & ones) * 0x27 // 0x27 where v >= 10
	if (v+0x70*ones)&(0x80*ones) != 0 || v+0x30*ones+letters != x {
		return 0, false
	}
	v = (v | v>>4) & 0x00ff00ff00ff00ff
	v = (v | v>>8) & 0x0000ffff0000ffff
	return (v | v>>16) & 0xffffffff, true
}
