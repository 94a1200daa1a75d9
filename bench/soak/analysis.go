package main

import (
	"math"
	"time"
)

// point is one value of one reading, at a time since traffic started.
type point struct {
	t time.Duration
	v float64
}

// window returns the points with from <= t < to.
func window(ps []point, from, to time.Duration) []point {
	var out []point
	for _, p := range ps {
		if p.t >= from && p.t < to {
			out = append(out, p)
		}
	}
	return out
}

// maxOf is the largest value (NaN for none).
func maxOf(ps []point) float64 {
	m := math.NaN()
	for _, p := range ps {
		if math.IsNaN(m) || p.v > m {
			m = p.v
		}
	}
	return m
}

// meanOf is the mean value (NaN for none).
func meanOf(ps []point) float64 {
	if len(ps) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, p := range ps {
		sum += p.v
	}
	return sum / float64(len(ps))
}

// growth is the relative change from base to final: 0.2 means 20 % more.
func growth(base, final float64) float64 {
	if base <= 0 {
		return math.Inf(1)
	}
	return final/base - 1
}

// slope is the least-squares slope of the points, in value per second (NaN for fewer than two
// distinct times).
func slope(ps []point) float64 {
	if len(ps) < 2 {
		return math.NaN()
	}
	var mt, mv float64
	for _, p := range ps {
		mt += p.t.Seconds()
		mv += p.v
	}
	n := float64(len(ps))
	mt, mv = mt/n, mv/n
	var cov, vart float64
	for _, p := range ps {
		dt := p.t.Seconds() - mt
		cov += dt * (p.v - mv)
		vart += dt * dt
	}
	if vart == 0 {
		return math.NaN()
	}
	return cov / vart
}

// trend is how much the points grow across their own span, by the least-squares line: the
// slope times the time between the first and the last point.
func trend(ps []point) float64 {
	if len(ps) < 2 {
		return math.NaN()
	}
	return slope(ps) * (ps[len(ps)-1].t - ps[0].t).Seconds()
}
