package shard

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// pauseFirstGather makes the first spiller to draw on a credit stop there,
// holding its units, until another Take enters spill or resume is called.
// held is closed once it holds. The hooks are reset when the test ends.
func pauseFirstGather(t *testing.T) (held <-chan struct{}, resume func()) {
	h, release := make(chan struct{}), make(chan struct{})
	var pause, wake sync.Once
	testHookGathered = func() {
		pause.Do(func() {
			close(h)
			<-release
		})
	}
	testHookSpill = func() {
		select {
		case <-h:
			wake.Do(func() { close(release) })
		default: // the pausing spiller itself, on its way in
		}
	}
	resume = func() { wake.Do(func() { close(release) }) }
	t.Cleanup(func() { testHookGathered, testHookSpill = nil, nil })
	return h, resume
}

// whileHolding starts Take(n) on l, runs during while that spiller holds
// the units of the first credit it drew on, and returns the spiller's result.
func whileHolding(t *testing.T, l *License, n int64, during func()) Result {
	held, resume := pauseFirstGather(t)
	var r Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		r = l.Take(n, 1, nil)
		r.Parts = slices.Clone(r.Parts)
	}()
	<-held
	during()
	resume() // in case no Take in during waited for the spiller
	<-done
	return r
}

func show(r Result) string {
	return fmt.Sprintf("%v remaining=%d parts=%v", r.Outcome, r.Remaining, r.Parts)
}

// Two spillers that each need both credits: A holds the first credit when
// B arrives. B must wait for A rather than hold the second credit, else
// both are denied although A alone fits.
func TestSpillWaitsForSpiller(t *testing.T) {
	l := NewLicense("lic")
	l.AddCredit(0, 100, 3, 0)
	l.AddCredit(0, 100, 3, 0)
	var b Result
	a := whileHolding(t, l, 4, func() { b = l.Take(4, 1, nil) })
	if got, want := show(a), "granted remaining=2 parts=[{0 3} {1 1}]"; got != want {
		t.Errorf("first spiller got %s, want %s", got, want)
	}
	if got, want := show(b), "exhausted remaining=2 parts=[]"; got != want {
		t.Errorf("second spiller got %s, want %s", got, want)
	}
}

// A spiller holds the first credit's units and will give them back, as
// fast-path takers drain the second credit meanwhile. A Take that then sees
// every credit empty must not be denied by that passing hold: it waits for
// the spiller and is granted what it gave back.
func TestHoldDoesNotDeny(t *testing.T) {
	l := NewLicense("lic")
	l.AddCredit(0, 50, 3, 0)
	l.AddCredit(0, 60, 2, 0)
	var f1, f2 string
	s := whileHolding(t, l, 5, func() {
		f1 = show(l.Take(2, 1, nil))
		f2 = show(l.Take(1, 1, nil))
	})
	if want := "granted remaining=0 parts=[{1 2}]"; f1 != want {
		t.Errorf("fast taker got %s, want %s", f1, want)
	}
	if want := "granted remaining=2 parts=[{0 1}]"; f2 != want {
		t.Errorf("taker after the drain got %s, want %s", f2, want)
	}
	if got, want := show(s), "exhausted remaining=3 parts=[]"; got != want {
		t.Errorf("spiller got %s, want %s", got, want)
	}
}
