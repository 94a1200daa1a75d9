package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"sync"
	"testing"
	"time"
)

// traced returns the trace of f, run with two Ps.
func traced(t *testing.T, f func()) []byte {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatalf("start a trace (is one running already?): %v", err)
	}
	f()
	trace.Stop()
	return buf.Bytes()
}

// A program that sleeps leaves its Ps idle; one that spins on both does not.
func TestIdleShare(t *testing.T) {
	sleepy := traced(t, func() { time.Sleep(100 * time.Millisecond) })
	busy := traced(t, func() {
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
				}
			})
		}
		wg.Wait()
	})
	s, err := idleOf(bytes.NewReader(sleepy))
	if err != nil {
		t.Fatal(err)
	}
	b, err := idleOf(bytes.NewReader(busy))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sleepy: %v", s)
	t.Logf("busy: %v", b)
	if s.share() < 0.5 {
		t.Errorf("a sleeping program's Ps were idle %.0f %% of the time, want most of it", 100*s.share())
	}
	if b.share() > s.share()/2 {
		t.Errorf("two spinning goroutines left the Ps idle %.0f %%, against %.0f %% asleep", 100*b.share(), 100*s.share())
	}
	if s.stops == 0 || len(s.stretch) < s.stops {
		t.Errorf("sleepy: %d stops, %d stretches", s.stops, len(s.stretch))
	}
}
