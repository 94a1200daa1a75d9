package main

import (
	"strings"
	"testing"
)

func TestUnitsFlag(t *testing.T) {
	f := func(in string, lo, hi int64, ok bool) {
		t.Helper()
		var u unitsRange
		err := u.Set(in)
		if (err == nil) != ok || (ok && (u.lo != lo || u.hi != hi)) {
			t.Fatalf("Set(%q) = %+v, %v; want %d-%d ok=%v", in, u, err, lo, hi, ok)
		}
	}
	f("1", 1, 1, true)
	f("4-10", 4, 10, true)
	f("1000000000", 1e9, 1e9, true)
	f("0", 0, 0, false)
	f("5-4", 0, 0, false)
	f("1-1000000001", 0, 0, false)
	f("x", 0, 0, false)
	f("-3", 0, 0, false)
}

func TestParseFlags(t *testing.T) {
	f := func(args string, wantErr string) {
		t.Helper()
		_, err := parseFlags(strings.Fields(args))
		switch {
		case wantErr == "" && err != nil:
			t.Fatalf("%q: %v", args, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("%q: got %v, want an error with %q", args, err, wantErr)
		}
	}
	f("", "")
	f("-scenario batch -batch 1000", "")
	f("-scenario single -owner organizations/x -items A,B", "")
	f("-scenario single", "-token-file")
	f("-scenario nope", "unknown -scenario")
	f("-keys 1.5", "-keys")
	f("-conns 0", "-conns")
	f("-batch 1001", "-batch")
	f("extra", "unexpected")
	f("-rounds 3 -only a,b,c256", "")
	f("-rounds 0", "-rounds must be at least 1")
	f("-rounds -2", "-rounds must be at least 1")
	f("-scenario batch -rounds 2", "-rounds applies to -scenario compare only")
	f("-only a,x", `-only: no row "x"`)
	f("-only a,", `-only: no row ""`)
	f("-scenario memory -only a", "-only applies to -scenario compare only")
	f("-turn 250ms -only a,b", "")
	f("-turn 250ms -rounds 3", "-turn and -rounds do not go together")
	f("-scenario batch -turn 250ms", "-turn applies to -scenario compare only")
	f("-turn -1s", "-turn applies to -scenario compare only, and must be positive")
	f("-turn 2s -duration 1s", "-duration must hold at least one -turn")
	o, _ := parseFlags([]string{"-scenario", "batch"})
	if o.batch != 1000 || o.rounds != 1 {
		t.Fatalf("batch scenario default -batch %d, -rounds %d; want 1000, 1", o.batch, o.rounds)
	}
}
