package shard

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// hashSeed is random per process, so the slot a key lands in cannot be known
// in advance. Only the admin API inserts keys, so flooding is not a threat
// the table must survive, but clustering by accident is.
var hashSeed = rand.Uint64()

// Multipliers from wyhash: odd, with well-spread bits.
const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
	hashK2 = 0x8ebc6af09c88c6e3
)

// hashKey is a wyhash-style hash: 16 bytes at a time through a 64×64→128-bit
// multiply, folded. It replaces hash/maphash on the lookup path because it
// is shorter there (no call into the runtime, 4 multiplies for a UUID), and
// a tight loop of lookups keeps more misses in flight with fewer
// instructions between them. The result never is 0, which marks an empty
// slot.
func hashKey(key string) uint64 {
	b := unsafe.Slice(unsafe.StringData(key), len(key)) // read only
	h := hashSeed ^ uint64(len(b))*hashK0
	for len(b) > 16 {
		h = mix(binary.LittleEndian.Uint64(b)^hashK1, binary.LittleEndian.Uint64(b[8:])^h)
		b = b[16:]
	}
	var x, y uint64
	switch n := len(b); {
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	}
	return mix(mix(x^hashK1, y^h)^hashK2, h^hashK0) | 1
}

// mix folds the 128-bit product of a and b.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
