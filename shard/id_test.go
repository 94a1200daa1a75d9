package shard_test

import (
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meterd/meterd/shard"
)

// number returns the number a numbered id carries: its first 32 bits.
func number(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(id[:8], 16, 32)
	if err != nil {
		t.Fatalf("id %q: number: %v", id, err)
	}
	return n
}

// checkUUIDv8 fails unless id is a canonical lower-case RFC 9562 UUID of
// version 8 and variant 10, and returns its 16 bytes.
func checkUUIDv8(t *testing.T, id string) [16]byte {
	t.Helper()
	var b [16]byte
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		t.Fatalf("id %q is not 8-4-4-4-12", id)
	}
	if strings.ToLower(id) != id {
		t.Fatalf("id %q is not lower-case", id)
	}
	if _, err := hex.Decode(b[:], []byte(strings.ReplaceAll(id, "-", ""))); err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	if v := b[6] >> 4; v != 8 {
		t.Fatalf("id %q has version %d, want 8", id, v)
	}
	if v := b[8] >> 6; v != 2 {
		t.Fatalf("id %q has variant bits %02b, want 10", id, v)
	}
	return b
}

func TestNewIDShape(t *testing.T) {
	var tb shard.Table
	const n = 100_000
	seen := make(map[string]bool, n)
	random := make(map[[12]byte]bool, n) // the 90 random bits, with version and variant
	for i := range n {
		id := tb.NewID()
		b := checkUUIDv8(t, id)
		if got := number(t, id); got != uint64(i) {
			t.Fatalf("id %d %q carries number %d, want %d", i, id, got, i)
		}
		if seen[id] || random[[12]byte(b[4:])] {
			t.Fatalf("id %d %q repeats an earlier id or its random bits", i, id)
		}
		seen[id], random[[12]byte(b[4:])] = true, true
	}
}

// At start-up core Puts the ids of every license it rebuilds, in whatever
// order they come, with gaps where provisioning failed; NewID must then
// hand out numbers above all of them.
func TestTableNumberedStartUp(t *testing.T) {
	var before shard.Table
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = before.NewID()
	}
	var tb shard.Table
	want := map[string]*shard.License{}
	for _, i := range []int{40, 3, 17, 0, 25, 9} {
		l := tb.NewLicense(ids[i])
		tb.Put(ids[i], l)
		want[ids[i]] = l
	}
	for _, id := range ids {
		checkGet(t, &tb, id, want[id]) // nil for the gaps
	}
	if got := tb.Len(); got != len(want) {
		t.Fatalf("Len = %d, want %d", got, len(want))
	}
	next := tb.NewID()
	if got := number(t, next); got != 41 {
		t.Fatalf("NewID after Puts up to number 40 gave number %d, want 41", got)
	}
	checkGet(t, &tb, next, nil)
	l := tb.NewLicense(next)
	checkGet(t, &tb, next, nil) // built, not yet Put
	tb.Put(next, l)
	checkGet(t, &tb, next, l)
}

func checkGet(t *testing.T, tb *shard.Table, key string, want *shard.License) {
	t.Helper()
	if got := tb.Get(key); got != want {
		t.Errorf("Get(%q) = %p, want %p", key, got, want)
	}
	if got := tb.GetBytes([]byte(key)); got != want {
		t.Errorf("GetBytes(%q) = %p, want %p", key, got, want)
	}
}

// Keys that share a number with a numbered id, or look like one without
// being one, never take its place nor hide it: every key resolves to what
// it was Put with.
func TestTableNumberedLookalikes(t *testing.T) {
	var tb shard.Table
	id := tb.NewID()
	owner := tb.NewLicense(id)
	tb.Put(id, owner)
	with := func(i int, s string) string { return id[:i] + s + id[i+len(s):] }
	flip := func(c byte) string { // another valid lower-case hex digit
		if c == '0' {
			return "1"
		}
		return "0"
	}
	keys := []string{
		with(35, flip(id[35])),            // same number, other random bits: a real collision
		with(14, "4"),                     // version 4: not numbered
		with(19, "c"),                     // variant 110: not numbered
		with(8, "x"),                      // no dash
		with(30, "A"),                     // upper case outside the number
		strings.ToUpper(id),               // upper case number: not even parsed
		with(0, "zz"),                     // number not hex
		id[:35],                           // short
		id + "0",                          // long
		"ffffffff" + id[8:],               // number beyond the dense array
		"organizations/" + id + "\x00Pdf", // an alias holding the id
	}
	want := map[string]*shard.License{id: owner}
	for _, k := range keys {
		if want[k] != nil {
			t.Fatalf("test bug: key %q twice", k)
		}
		l := shard.NewLicense(k)
		tb.Put(k, l)
		want[k] = l
	}
	for k, l := range want {
		checkGet(t, &tb, k, l)
	}
	if got := tb.Len(); got != len(want) {
		t.Fatalf("Len = %d, want %d", got, len(want))
	}
}

// A numbered key may be Put with a license of another id (as an alias
// would be), before or after its own license; the latest Put wins.
func TestTableNumberedReplace(t *testing.T) {
	var tb shard.Table
	a, b := tb.NewID(), tb.NewID()
	la, lb, other := tb.NewLicense(a), tb.NewLicense(b), shard.NewLicense("other")
	f := func(key string, l, want *shard.License, wantLen int) {
		t.Helper()
		tb.Put(key, l)
		checkGet(t, &tb, key, want)
		if got := tb.Len(); got != wantLen {
			t.Fatalf("Len = %d, want %d", got, wantLen)
		}
	}
	la2 := tb.NewLicense(a) // its block is la's: a License of its own
	f(a, la, la, 1)
	f(a, la2, la2, 1)     // a new License for the same id
	f(a, other, other, 1) // the id now names another license
	f(a, la, la, 1)       // and its own again
	f(b, other, other, 2) // b names another license first
	f(b, lb, lb, 2)
	checkGet(t, &tb, a, la)
}

// NewID, Put and Get at once: every id is new, every license is found by
// its writer right after its Put and by readers once published, an id never
// Put is never found, and Len counts them all.
func TestTableNumberedConcurrent(t *testing.T) {
	var tb shard.Table
	const writers, each = 4, 2000
	published := make([]atomic.Pointer[string], writers*each)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				id := tb.NewID()
				l := tb.NewLicense(id)
				tb.Put(id, l)
				if tb.Get(id) != l {
					t.Errorf("Get(%q) right after Put missed", id)
					return
				}
				published[next.Add(1)-1].Store(&id)
			}
		})
		wg.Go(func() {
			for i := 0; i < each; i++ {
				if p := published[(i*7919)%len(published)].Load(); p != nil {
					if l := tb.Get(*p); l == nil || l.ID() != *p {
						t.Errorf("Get(%q) = %v, want its license", *p, l)
						return
					}
				}
				if id := tb.NewID(); tb.Get(id) != nil {
					t.Errorf("Get(%q) of an id never Put found a license", id)
					return
				}
			}
		})
	}
	wg.Wait()
	numbers := map[uint64]bool{}
	for i := range published {
		id := *published[i].Load()
		if l := tb.Get(id); l == nil || l.ID() != id {
			t.Fatalf("Get(%q) = %v after all Puts", id, l)
		}
		if n := number(t, id); numbers[n] {
			t.Fatalf("number %d handed out twice", n)
		} else {
			numbers[n] = true
		}
	}
	if got := tb.Len(); got != writers*each {
		t.Fatalf("Len = %d, want %d", got, writers*each)
	}
}
