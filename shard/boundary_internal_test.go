package shard

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// Boundaries and placements that results alone would not show.

// Credit 0 lives inside the License: the fast path reads nothing else.
func TestCreditZeroInline(t *testing.T) {
	l := NewLicense("lic")
	l.AddCredit(0, 10, 5, 0)
	l.AddCredit(0, 10, 5, 0)
	if s := l.set.Load(); s.byIndex[0] != &l.c0 || s.byIndex[1] == &l.c0 {
		t.Fatal("credit 0 is not the License's own c0, or credit 1 is")
	}
}

// The ids numbered at the dense part's edge: the last number inside gets its block, the first
// outside a License of its own; both are found by id after Put.
func TestDenseCapEdge(t *testing.T) {
	var tb Table
	inside, outside := numberedID(denseCap-1), numberedID(denseCap)
	for _, id := range []string{inside, outside} {
		if n, ok := idNumber(id); !ok || !isNumberedID(id) {
			t.Fatalf("%s: not a numbered id (%d)", id, n)
		}
		l := tb.NewLicense(id)
		tb.Put(id, l)
		if got := tb.Get(id); got != l {
			t.Fatalf("Get(%s) = %p, want %p", id, got, l)
		}
	}
	if tb.blockAt(denseCap-1) == nil || tb.Get(inside) != tb.blockAt(denseCap-1) {
		t.Fatal("the last number inside the dense part did not get its block")
	}
}

// numberedID spells an id of NewID's shape with number n.
func numberedID(n uint64) string {
	return fmt.Sprintf("%08x-0000-8000-8000-000000000000", n)
}

// An alias key longer than the room beside the License is kept whole.
func TestLongAliasKey(t *testing.T) {
	var tb Table
	l := tb.NewLicense(tb.NewID())
	tb.Put(l.ID(), l)
	for _, n := range []int{1, len(aliasEntry{}.buf), len(aliasEntry{}.buf) + 1, 300} {
		key := "organizations/" + strings.Repeat("x", n) + "\x00Item"
		tb.Put(key, l)
		if got := tb.Get(key); got != l {
			t.Fatalf("alias of %d bytes: Get = %p, want %p", len(key), got, l)
		}
		if got := tb.Get(key[:len(key)-1]); got != nil {
			t.Fatalf("alias of %d bytes: its prefix found %p", len(key), got)
		}
	}
}

// A license may total exactly math.MaxInt64 units; one more panics (TestContractPanics).
func TestTotalAtInt64(t *testing.T) {
	l := NewLicense("lic")
	l.AddCredit(0, 10, 5, 0)
	l.AddCredit(0, 10, math.MaxInt64-5, 0)
	if l.Total() != math.MaxInt64 {
		t.Fatalf("Total = %d", l.Total())
	}
}

// Giving back a part of 0 units, as a spill may record, changes nothing.
func TestGiveZero(t *testing.T) {
	l := NewLicense("lic")
	l.AddCredit(0, 10, 5, 2)
	l.Give([]Part{{Credit: 0, Units: 0}})
	if c := l.Credit(0); c.Used != 2 {
		t.Fatalf("used %d after giving 0, want 2", c.Used)
	}
}

func TestOutcomeStringOutOfRange(t *testing.T) {
	o := Outcome(len(outcomeNames))
	if got, want := o.String(), fmt.Sprintf("outcome(%d)", len(outcomeNames)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
