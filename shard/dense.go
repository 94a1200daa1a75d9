package shard

import (
	"sync/atomic"
	"unsafe"
)

// The dense part of a Table holds the licenses of numbered ids (see NewID)
// themselves, each in the block its id's number names:
//
//	dense ──► denseDir{chunks: [c0 c1 nil c3 ...]}   copied to grow
//	                            │
//	                            ▼
//	          denseChunk [1024]denseBlock{License, aliasEntry}   256 KiB, made on first use
//
// Table.NewLicense builds the License of a numbered id in its block, so a
// Get by the id computes where the License is from the id alone: the
// directory is a few hundred bytes and stays in cache, and the License
// block, whose first line holds the id bytes Get compares and the balance
// Take swaps, is the decision's one cache miss. Rejected: a dense array of
// pointers to Licenses allocated one by one (this table until 2026-12),
// which made every Get wait for the pointer before it could ask for the
// License; at 100,000 licenses the 800 KB of pointers mostly missed the
// cache too. Measured in alternating runs (bench/RESULTS.md), together
// with TakeInto for Take (about 6 % alone): lookup and take 27 % faster at
// 1,000 keys, 14 % at 100,000, and 45 % there when the key itself must be
// fetched from memory first.
//
// Beside each License is room for the entry of one alias (core registers
// one per license: "owner\x00item"), so that a lookup by alias finds the
// entry and the License in the same page. Without it the alias path
// measured 30 % slower than with Licenses and entries allocated one after
// the other, as they had been (likely one page-table walk more).
//
// A block's flags (License.flags) say what it is:
//
//   - 0: free. Get ignores it.
//   - flagMade: NewLicense built a License here, not yet Put. Get ignores it.
//   - flagMade|flagLive: Put under its own id; Get returns it for that id.
//   - flagMoved added: its id was Put since with another License, which the
//     hash table holds. Get ignores the block, and it stays that way.
//
// Only Table.mu holders change a block's flags other than flagAlone, and
// they set each bit once.
const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
	// denseCap bounds the numbers kept in the dense part, so that however
	// high a number an id carries, the directory stays under 512 KiB. Ids
	// numbered higher get Licenses of their own and are hashed.
	denseCap = 1 << 26
)

type denseChunk [chunkLen]denseBlock

// denseBlock is a License and the entry of its first alias. The License
// comes first, so that a *License of a dense block is a *denseBlock.
type denseBlock struct {
	lic   License
	alias aliasEntry // used once flagAliased is set
}

// denseDir only ever gains chunks: a chunk is stored into a nil word of the
// directory in place, and the directory is copied to grow.
type denseDir struct {
	chunks []atomic.Pointer[denseChunk]
}

// blockAt returns block n, or nil if its chunk has not been made.
func (t *Table) blockAt(n uint64) *License {
	d := t.dense.Load()
	if d == nil || n>>chunkBits >= uint64(len(d.chunks)) {
		return nil
	}
	if c := d.chunks[n>>chunkBits].Load(); c != nil {
		return &c[n&(chunkLen-1)].lic
	}
	return nil
}

// makeBlockAt returns block n (< denseCap), making its chunk if need be.
// t.mu must be held.
func (t *Table) makeBlockAt(n uint64) *License {
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
	return &c[n&(chunkLen-1)].lic
}

// aliasRoom returns the unused alias entry beside l, or nil if l is not a
// dense block or its entry is used; the caller must use it. t.mu must be
// held.
func aliasRoom(l *License) *aliasEntry {
	if f := l.flags.Load(); f&flagMade == 0 || f&flagAliased != 0 {
		return nil
	}
	l.flags.Or(flagAliased)
	return &(*denseBlock)(unsafe.Pointer(l)).alias
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

// NewLicense returns a new License for id with no credits, as the package's
// NewLicense does, built where Get finds it fastest: a numbered id (made by
// NewID, in this process or an earlier one) gets the block of the dense part
// its number names. Any other id, a number at or above 2^26, or a number
// whose block is taken gets a License of its own. Either way no key finds
// the License until it is Put; Put it under its id.
func (t *Table) NewLicense(id string) *License {
	if !isNumberedID(id) {
		return NewLicense(id)
	}
	n, _ := idNumber(id)
	if n >= denseCap {
		return NewLicense(id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.raiseNext(n + 1)
	l := t.makeBlockAt(n)
	if l.flags.Load() != 0 {
		return NewLicense(id)
	}
	l.init(id)
	l.flags.Store(flagMade)
	return l
}

// putDense is Put of a key with the shape of a numbered id, numbered n
// (< denseCap); it reports whether it is done, or whether the key belongs in
// the hash table. t.mu must be held.
func (t *Table) putDense(n uint64, key string, l *License) bool {
	b := t.blockAt(n)
	if b == nil {
		return false
	}
	f := b.flags.Load()
	switch {
	case f&flagMade == 0 || f&flagMoved != 0 || b.ID() != key:
		return false // the block holds no license of this id
	case b == l && f&flagLive == 0:
		// A key still in the hash table from before the block was made
		// is shadowed from now on; it was counted there.
		if !t.hashed(key) {
			t.n.Add(1)
		}
		b.flags.Or(flagLive)
	case b == l:
		// Put again: nothing changes.
	case f&flagLive != 0:
		// key is here and now names another license: hash it, then mark the
		// block, so that Get finds key in one place or the other at every
		// instant. It was counted here already.
		t.putHashed(key, l)
		b.flags.Or(flagMoved)
	default:
		return false // made, not yet Put, and key names another license first
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
