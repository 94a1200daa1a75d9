package main

import (
	"strings"
	"testing"
)

// TestCompareTurns: with -turn every selected server stays up, each row is driven once per
// cycle in ABBA order, every turn measures grants only, and each server's note lands on its
// last turn. Real servers: bare fasthttp, meterd async, and the bare handler over the WAL.
func TestCompareTurns(t *testing.T) {
	o := quick(t, "-only", "a,b,i", "-turn", "60ms", "-duration", "300ms", "-warmup", "50ms")
	rep, err := compare(o)
	if err != nil {
		t.Fatal(err)
	}
	const cycles = 5
	checkRows(t, rep, 3*cycles)
	if rep.rounds != cycles || !rep.turns {
		t.Fatalf("%d rounds (turns %v), want %d cycles of turns", rep.rounds, rep.turns, cycles)
	}
	var order []string
	for _, rw := range rep.rows {
		order = append(order, rw.id)
	}
	if got, want := strings.Join(order, ""), "abiibaabiibaabi"; got != want {
		t.Fatalf("turns ran in the order %s, want %s", got, want)
	}
	if c := rep.judge(target{num: "b", den: "a", what: "x", bound: 0}); c.skipped != "" || !c.pass {
		t.Fatalf("(b)/(a) not judged over the cycles: %+v", c)
	}
	text := rep.text()
	for _, want := range []string{"in 5 cycles of 60ms turns", "median of 5 cycles", "(b) meterd async: ", "records per WAL group", "(i) bare fasthttp + WAL async: "} {
		if !strings.Contains(text, want) {
			t.Fatalf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "round 1 of") {
		t.Fatalf("turns printed a table per cycle:\n%s", text)
	}
}

// A row that is not an HTTP server cannot take turns: compare says so and starts nothing.
func TestCompareTurnsNeedsServers(t *testing.T) {
	_, err := compare(quick(t, "-only", "a,d", "-turn", "50ms"))
	if err == nil || !strings.Contains(err.Error(), "(d) raw Pebble Sync is not an HTTP server") {
		t.Fatalf("got %v, want (d) refused", err)
	}
}
