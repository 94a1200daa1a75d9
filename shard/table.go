package shard

import (
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Table maps string keys (license ids, and the "owner\x00item" aliases core
// registers) to licenses. The zero value is an empty table ready to use.
// Get takes no lock and allocates nothing; Put is O(1) amortized, so a table
// of 100,000 keys is built one Put at a time in milliseconds.
type Table struct {
	// Two parts, and every key is found in exactly one of them:
	//
	//  - dense (dense.go): the Licenses of ids made by NewID themselves,
	//    built by Table.NewLicense in the block the id's number names. A
	//    numbered id is found here once its License is Put under it, unless
	//    it has since been Put with another License.
	//  - slots: every other key, in an open-addressing hash table with
	//    linear probing whose slots are written in place under mu and read
	//    without any lock:
	//
	//	slots ──► slotArray{mask, [ {tag, e} {0, nil} {tag, e} ... ]}
	//	                                        │
	//	                                        ▼
	//	                  entry{lic, key ──► inline bytes}  (immutable)
	//
	// So Get tries the dense block of anything shaped like a numbered id,
	// and on any mismatch asks the hash table.
	//
	// A hash slot goes from empty to full once and stays full (there is no
	// Delete); replacing a key's license swaps in a new immutable entry. Put
	// stores an entry before its tag, so a reader that sees a tag sees the
	// entry. Growing builds a new array aside and publishes it with one
	// store; a reader still on the old array sees the table as it was when
	// it started. Rejected: a copy-on-write map per shard, which copies a
	// shard on every Put, and which measured 1.6 times slower for Get+Take
	// than this table at 1,000 and at 100,000 keys.
	mu    sync.Mutex // serializes Put
	dense atomic.Pointer[denseDir]
	slots atomic.Pointer[slotArray]
	n     atomic.Int64
	next  atomic.Uint64 // NewID's next number
}

type slotArray struct {
	mask  uint64
	slots []slot
	used  int // full slots; only Put, under Table.mu, reads and writes it
}

// slot is 16 bytes, so a probe sequence usually stays in one cache line: the
// tag (the key's hash with the low bit set, 0 while empty) lets a probe skip
// a colliding key without loading its entry.
type slot struct {
	tag atomic.Uint64
	e   atomic.Pointer[entry]
}

// entry is immutable. The entry of a license's own id is License.self, so
// that a lookup by id lands in the License block it is about to use; other
// keys get an aliasEntry.
type entry struct {
	lic *License
	key string
}

// aliasEntry keeps a key of up to 104 bytes (an "owner\x00item" alias with
// a UUID owner and a long item name) in the same 128-byte block as its
// entry, so that comparing it costs no extra cache miss; longer keys are
// cloned. A 64-byte block, keeping only keys up to 40 bytes, made every
// such alias two objects and the lookup one miss longer.
type aliasEntry struct {
	entry
	buf [cacheLine - unsafe.Sizeof(entry{})]byte
}

const minSlots = 16

// Get returns the license registered under key, or nil. It takes no lock and
// does not allocate.
func (t *Table) Get(key string) *License {
	// A key of a numbered id's length and version names its dense block
	// through the number it carries. hexNumber does not check the digits:
	// a key that is not a numbered id matches no block's id bytes anyway.
	if len(key) == idLen && key[versionAt] == '8' {
		l := t.blockAt(hexNumber(binary.BigEndian.Uint64(idBytes(key)[:8])))
		if l != nil && l.flags.Load()&(flagLive|flagMoved) == flagLive && l.hasID(key) {
			return l
		}
	}
	return t.getHashed(key)
}

func (t *Table) getHashed(key string) *License {
	a := t.slots.Load()
	if a == nil {
		return nil
	}
	if _, e := a.find(hashKey(key), key); e != nil {
		return e.lic
	}
	return nil
}

// GetBytes is Get without converting key to a string.
func (t *Table) GetBytes(key []byte) *License {
	// Get neither retains nor modifies key, so viewing the bytes as a string
	// for the length of the call is safe.
	return t.Get(unsafe.String(unsafe.SliceData(key), len(key)))
}

// Len returns the number of keys.
func (t *Table) Len() int { return int(t.n.Load()) }

// Put registers l under key, replacing any license registered before. It
// copies key. It is safe concurrently with Get; Puts are serialized.
//
// A License that Table.NewLicense built in the dense part is found there by
// its own id, once Put under it; every other key, and every other License,
// goes to the hash table.
func (t *Table) Put(key string, l *License) {
	if l == nil {
		panic("BUG: shard: Put of a nil license")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if isNumberedID(key) {
		if n, _ := idNumber(key); n < denseCap {
			t.raiseNext(n + 1)
			if t.putDense(n, key, l) {
				return
			}
		}
	}
	if t.putHashed(key, l) {
		t.n.Add(1)
	}
}

// hashed reports whether key is in the hash table. t.mu must be held.
func (t *Table) hashed(key string) bool {
	a := t.slots.Load()
	if a == nil {
		return false
	}
	s, _ := a.find(hashKey(key), key)
	return s != nil
}

// putHashed is Put into the hash table. It reports whether key is new
// there. t.mu must be held.
func (t *Table) putHashed(key string, l *License) bool {
	a := t.slots.Load()
	if a == nil {
		a = newSlotArray(minSlots)
		t.slots.Store(a)
	}
	e := newEntry(key, l)
	h := hashKey(key)
	if s, _ := a.find(h, key); s != nil {
		s.e.Store(e)
		return false
	}
	if (a.used+1)*2 > len(a.slots) { // keep load <= 1/2
		a = a.grow()
		t.slots.Store(a)
	}
	a.insert(h, e)
	return true
}

func newEntry(key string, l *License) *entry {
	if key == l.self.key {
		return &l.self
	}
	a := aliasRoom(l)
	if a == nil {
		a = new(aliasEntry)
	}
	a.lic = l
	if len(key) <= len(a.buf) {
		n := copy(a.buf[:], key)
		a.key = unsafe.String(&a.buf[0], n)
	} else {
		a.key = strings.Clone(key) // key may alias a caller's buffer
	}
	return &a.entry
}

func newSlotArray(n int) *slotArray {
	return &slotArray{mask: uint64(n - 1), slots: make([]slot, n)}
}

// find returns the slot holding key and its entry, or nils. The load factor
// stays at or below 1/2, so the probe always meets an empty slot.
func (a *slotArray) find(h uint64, key string) (*slot, *entry) {
	for i := h & a.mask; ; i = (i + 1) & a.mask {
		s := &a.slots[i]
		switch s.tag.Load() {
		case 0:
			return nil, nil
		case h:
			if e := s.e.Load(); e.key == key {
				return s, e
			}
		}
	}
}

// insert puts e into the first empty slot of its probe sequence: entry first,
// then tag, so that readers never see a tag without its entry.
func (a *slotArray) insert(h uint64, e *entry) {
	for i := h & a.mask; ; i = (i + 1) & a.mask {
		s := &a.slots[i]
		if s.tag.Load() == 0 {
			s.e.Store(e)
			s.tag.Store(h)
			a.used++
			return
		}
	}
}

// grow returns a copy of a twice the size. It is not yet published, so plain
// inserts suffice.
func (a *slotArray) grow() *slotArray {
	b := newSlotArray(2 * len(a.slots))
	for i := range a.slots {
		if h := a.slots[i].tag.Load(); h != 0 {
			b.insert(h, a.slots[i].e.Load())
		}
	}
	return b
}
