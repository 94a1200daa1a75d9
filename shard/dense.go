package shard

import "sync/atomic"

// The dense part of a Table holds the licenses of numbered ids (see NewID),
// indexed by the id's number:
//
//	dense ──► denseDir{chunks: [c0 c1 nil c3 ...]}   copied to grow
//	                            │
//	                            ▼
//	          denseChunk [1024]atomic.Pointer[License]  8 KiB, written in place
//
// A slot holds nil, a License whose own id is the key with that number, or
// moved: the number's keys are in the hash table. A slot leaves nil once and
// never returns to it; once it holds a License it holds Licenses of that one
// id until it is marked moved, and moved stays.
//
// 100,000 ids fill 98 chunks, 800 KB, which stay in cache where the 12.8 MB
// of License blocks they point to do not: a Get by numbered id then waits
// for one cache miss, the License, where it compares the key with the id
// bytes in the same block as credit 0, instead of a chain of hash slot,
// entry and key. A
// chunk is made when a number in it is first Put, so gaps in the numbers
// cost a directory word per 1,024 numbers, not a slot per number.
const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
	// denseCap bounds the numbers kept in the dense array, so that however
	// high a number a key carries, the directory stays under 512 KiB. Ids
	// numbered higher are hashed.
	denseCap = 1 << 26
)

type denseChunk [chunkLen]atomic.Pointer[License]

// denseDir only ever gains chunks: a chunk is stored into a nil word of the
// directory in place, and the directory is copied to grow.
type denseDir struct {
	chunks []atomic.Pointer[denseChunk]
}

// moved marks a dense slot whose keys live in the hash table. Its id bytes
// are zero, so it matches no key.
var moved = new(License)

// denseLicense returns what slot n holds: nil, moved or a License.
func (t *Table) denseLicense(n uint64) *License {
	d := t.dense.Load()
	if d == nil || n>>chunkBits >= uint64(len(d.chunks)) {
		return nil
	}
	if c := d.chunks[n>>chunkBits].Load(); c != nil {
		return c[n&(chunkLen-1)].Load()
	}
	return nil
}

// denseSlot returns slot n (< denseCap), making room for it. t.mu must be
// held.
func (t *Table) denseSlot(n uint64) *atomic.Pointer[License] {
	d, i := t.dense.Load(), int(n>>chunkBits)
	if d == nil || i >= len(d.chunks) {
		d = d.grow(i + 1)
		t.dense.Store(d)
	}
	c := d.chunks[i].Load()
	if c == nil {
		c = new(denseChunk)
		d.chunks[i].Store(c)
	}
	return &c[n&(chunkLen-1)]
}

// grow returns a copy of d (which may be nil) with room for at least n
// chunks, doubling so that a run of Puts copies the directory O(log n) times.
func (d *denseDir) grow(n int) *denseDir {
	var old []atomic.Pointer[denseChunk]
	if d != nil {
		old = d.chunks
	}
	e := &denseDir{chunks: make([]atomic.Pointer[denseChunk], min(max(n, 2*len(old)), denseCap>>chunkBits))}
	for i := range old {
		e.chunks[i].Store(old[i].Load())
	}
	return e
}

// putDense is Put for a key with the shape of a numbered id; it reports
// whether it is done, or whether the key belongs in the hash table. t.mu
// must be held.
func (t *Table) putDense(key string, l *License) bool {
	n, _ := idNumber(key)
	if n >= denseCap {
		return false
	}
	t.raiseNext(n + 1)
	s := t.denseSlot(n)
	switch old := s.Load(); {
	case old == nil && l.ID() == key:
		s.Store(l)
		t.n.Add(1)
	case old == nil:
		// key names a license with another id: a slot cannot say so. Mark
		// the number moved, so that a later Put of key finds it hashed.
		s.Store(moved)
		return false
	case old == moved || old.ID() != key:
		return false // another id took this number first
	case l.ID() == key:
		s.Store(l) // a new License for the same id
	default:
		// key is here and now names a license with another id: hash it,
		// then mark the slot, so that Get finds key in one place or the
		// other at every instant.
		t.putHashed(key, l)
		s.Store(moved)
	}
	return true
}

// raiseNext makes NewID's next number at least n.
func (t *Table) raiseNext(n uint64) {
	for {
		cur := t.next.Load()
		if cur >= n || t.next.CompareAndSwap(cur, n) {
			return
		}
	}
}
