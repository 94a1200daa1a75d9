package main

import (
	"math"
	"testing"
	"time"
)

// line makes n points one second apart with value a + b·t.
func line(n int, a, b float64) []point {
	ps := make([]point, n)
	for i := range ps {
		ps[i] = point{time.Duration(i) * time.Second, a + b*float64(i)}
	}
	return ps
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestGrowth(t *testing.T) {
	f := func(base, final, want float64) {
		t.Helper()
		if got := growth(base, final); !near(got, want) {
			t.Errorf("growth(%v, %v) = %v, want %v", base, final, got, want)
		}
	}
	f(100, 120, 0.2)
	f(100, 100, 0)
	f(100, 80, -0.2)
	f(50, 150, 2)
	if got := growth(0, 1); !math.IsInf(got, 1) {
		t.Errorf("growth from 0 = %v, want +Inf (a zero baseline cannot pass)", got)
	}
}

func TestSlope(t *testing.T) {
	f := func(ps []point, want float64) {
		t.Helper()
		if got := slope(ps); !near(got, want) {
			t.Errorf("slope = %v, want %v", got, want)
		}
	}
	f(line(10, 5, 0), 0)
	f(line(10, 5, 2), 2)
	f(line(10, 100, -3), -3)
	f([]point{{0, 0}, {time.Second, 10}, {2 * time.Second, 0}}, 0) // up and back down: no trend
	f([]point{{0, 1}, {2 * time.Second, 5}}, 2)
	for _, ps := range [][]point{nil, line(1, 3, 1), {{time.Second, 1}, {time.Second, 2}}} {
		if got := slope(ps); !math.IsNaN(got) {
			t.Errorf("slope of %v = %v, want NaN", ps, got)
		}
	}
}

func TestTrend(t *testing.T) {
	f := func(ps []point, want float64) {
		t.Helper()
		if got := trend(ps); !near(got, want) {
			t.Errorf("trend = %v, want %v", got, want)
		}
	}
	f(line(11, 0, 1), 10) // 1 per second over 10 s
	f(line(11, 7, 0), 0)
	// A sawtooth (Pebble's WAL filling, then recycled) rises within each tooth; a line over
	// several teeth sees well under one tooth's height, which is what the data-directory
	// check's 8 MiB floor (two memtables) relies on.
	var saw []point
	for i := range 40 {
		saw = append(saw, point{time.Duration(i) * time.Second, float64(i % 10)})
	}
	if got := trend(saw); math.Abs(got) > 9.0/3 {
		t.Errorf("trend of 4 teeth of height 9 = %v, want under a third of a tooth", got)
	}
}

func TestWindowMaxMean(t *testing.T) {
	ps := line(10, 0, 1) // values 0..9 at 0..9 s
	w := window(ps, 2*time.Second, 5*time.Second)
	if len(w) != 3 || w[0].v != 2 || w[2].v != 4 {
		t.Fatalf("window [2s, 5s) = %v, want the points at 2, 3, 4", w)
	}
	if got := maxOf(w); got != 4 {
		t.Errorf("maxOf = %v, want 4", got)
	}
	if got := meanOf(w); got != 3 {
		t.Errorf("meanOf = %v, want 3", got)
	}
	if !math.IsNaN(maxOf(nil)) || !math.IsNaN(meanOf(nil)) {
		t.Errorf("maxOf and meanOf of nothing must be NaN")
	}
}
