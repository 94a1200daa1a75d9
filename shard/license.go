package shard

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// License is the set of use-count credits of one license. Make one with
// NewLicense; its methods are safe for concurrent use. A License must not be
// copied.
type License struct {
	// A License is exactly cacheLine bytes and cacheLine-aligned: the
	// allocator serves 128-byte objects from 128-byte aligned slots (see
	// paddedCredit), and a dense block, 2*cacheLine bytes, starts with one.
	// A Get by id and a Take from a license with one credit read only its
	// first 64 bytes: the id's bytes (up to idLen, so a whole UUID) that Get
	// compares, the flags, and credit 0's balance and window: one line to
	// wait for, not two (alone, this measured within noise of the id in the
	// other line). The fields other than c0's balance and flags are written
	// only before the License is published: sharing c0's lines with them
	// makes no false sharing between licenses. What only spilling takers and
	// AddCredit need (the lock, the spill sequence) lives behind set.
	idBuf [idLen]byte // holds self.key when it fits
	flags atomic.Uint32
	c0    credit // the first credit, inline: balance, from, until first
	self  entry  // the Table entry for the id, so ids need no aliasEntry
	value any    // what the caller attached (SetValue), published by Table.Put
	set   atomic.Pointer[creditSet]
}

// License.flags. flagAlone is set while c0 is the license's only credit:
// the fast path then needs nothing but the first line. The others are the
// state of a dense block (dense.go).
const (
	flagAlone uint32 = 1 << iota
	flagMade
	flagLive
	flagMoved
	flagAliased // the alias entry beside the License is used
)

// licenseLock is what only the slow paths of one license use. Every
// creditSet of the license points to the same one.
type licenseLock struct {
	// mu serializes spilling takers and AddCredit of this license.
	mu sync.Mutex
	// spills is odd while a spilling Take holds units it may give back;
	// lock-free denials use it as a sequence lock (see License.slow).
	spills atomic.Uint64
}

// creditSet is an immutable snapshot of a license's credits. The credits are
// shared between snapshots, so balances carry over when AddCredit replaces it.
type creditSet struct {
	byIndex []*credit // creation order
	order   []*credit // take order: earliest until first, ties by index
	total   int64     // sum of totals
	lk      *licenseLock
}

// firstSet allocates a license's empty credit set and its lock together.
type firstSet struct {
	creditSet
	lk licenseLock
}

// NewLicense returns a license with no credits. It copies id. A Table's
// own NewLicense builds the License of a numbered id where the Table finds
// it fastest.
func NewLicense(id string) *License {
	l := new(License)
	l.init(id)
	return l
}

// init makes l, which must be zero, a license for id with no credits.
func (l *License) init(id string) {
	l.self.lic = l
	if len(id) <= len(l.idBuf) {
		n := copy(l.idBuf[:], id)
		l.self.key = unsafe.String(&l.idBuf[0], n)
	} else {
		l.self.key = strings.Clone(id)
	}
	f := new(firstSet)
	f.creditSet.lk = &f.lk
	l.set.Store(&f.creditSet)
}

// hasID reports whether key, which is idLen bytes long, is l's id. It
// compares words of the inline copy rather than calling memequal: this is
// the lookup by numbered id, and every instruction it saves lets the CPU
// reach further ahead into the next lookup's cache misses.
func (l *License) hasID(key string) bool {
	k, b := idBytes(key)[:], l.idBuf[:]
	le := binary.LittleEndian
	// | and ^ bind equally tightly in Go, hence the parentheses.
	return (le.Uint64(k)^le.Uint64(b))|(le.Uint64(k[8:])^le.Uint64(b[8:]))|
		(le.Uint64(k[16:])^le.Uint64(b[16:]))|(le.Uint64(k[24:])^le.Uint64(b[24:]))|
		(le.Uint64(k[28:])^le.Uint64(b[28:])) == 0
}

// ID returns the id given to NewLicense.
func (l *License) ID() string { return l.self.key }

// SetValue attaches v to the license, so that a Get also finds the caller's own record of it.
// Call it before the license is Put in a Table, which publishes it.
func (l *License) SetValue(v any) { l.value = v }

// Value returns what SetValue attached.
func (l *License) Value() any { return l.value }

// AddCredit appends a credit valid in the half-open window [from, until) (unix
// nanoseconds), holding total units of which used are already consumed (used
// is for rebuilding state at start-up). It returns the credit's index in
// creation order. It copies the credit list on write and is safe concurrently
// with Take, Give and the readers; it is meant to be rare.
//
// It panics unless 0 <= used <= total, from < until, and the license's total
// stays within int64: Remaining, Used and Total sum over the credits, and a
// sum that wrapped would hand out units (callers bound totals far lower).
func (l *License) AddCredit(from, until, total, used int64) int {
	lk := l.set.Load().lk
	lk.mu.Lock()
	defer lk.mu.Unlock()
	old := l.set.Load()
	if total > math.MaxInt64-old.total {
		panic(fmt.Sprintf("BUG: shard: license %q would total more than int64 holds", l.ID()))
	}
	i := len(old.byIndex)
	c := &l.c0
	if i > 0 {
		c = &new(paddedCredit).credit
	}
	c.init(i, from, until, total, used)
	// flagAlone is cleared before the new set is published, so a taker
	// that still sees it set is one that started before this call.
	switch i {
	case 0:
		l.flags.Or(flagAlone)
	case 1:
		l.flags.And(^flagAlone)
	}
	l.set.Store(old.with(c))
	return i
}

// with returns a copy of s with c appended, c's place in take order found by
// binary search so that takers never sort.
func (s *creditSet) with(c *credit) *creditSet {
	i, _ := slices.BinarySearchFunc(s.order, c, func(a, b *credit) int {
		if a.takesBefore(b) {
			return -1
		}
		return 1
	})
	return &creditSet{
		byIndex: append(slices.Clip(s.byIndex), c),
		order:   slices.Insert(slices.Clip(s.order), i, c),
		total:   s.total + c.total,
		lk:      s.lk,
	}
}

// NumCredits returns the number of credits ever added.
func (l *License) NumCredits() int { return len(l.set.Load().byIndex) }

// Credit returns a snapshot of the credit with index i in creation order. It
// panics if there is no such credit.
func (l *License) Credit(i int) CreditState {
	s := l.set.Load()
	if i < 0 || i >= len(s.byIndex) {
		panic(fmt.Sprintf("BUG: shard: license %q has no credit %d", l.ID(), i))
	}
	return s.byIndex[i].state()
}

// Remaining is the sum of balances of the credits active at now.
func (l *License) Remaining(now int64) int64 { return l.set.Load().remaining(now) }

// Used is the sum of used units over all credits.
func (l *License) Used() int64 {
	var used int64
	for _, c := range l.set.Load().byIndex {
		used += c.total - c.balance.Load()
	}
	return used
}

// Total is the sum of totals over all credits.
func (l *License) Total() int64 { return l.set.Load().total }

func (s *creditSet) remaining(now int64) int64 {
	var sum int64
	for _, c := range s.order {
		if c.active(now) {
			sum += c.balance.Load()
		}
	}
	return sum
}
