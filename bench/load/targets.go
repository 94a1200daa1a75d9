package main

import (
	"fmt"
	"slices"
	"strings"
)

// measure is what a target reads off a row.
type measure int

const (
	measureRate      measure = iota // requests/s
	measureDecisions                // decisions/s (a batch request carries many)
	measureP99                      // 99th-percentile latency (ns)
)

func (m measure) of(res *result) float64 {
	switch m {
	case measureDecisions:
		return res.decisionRate()
	case measureP99:
		return float64(res.hist.quantile(0.99))
	}
	return res.rate()
}

// A target is a figure the project has committed to: the ratio of a measure between rows num
// and den or, without den, num's measure itself, at least bound (a floor) or, with ceiling,
// at most bound. Over several rounds it is judged on the median of the per-round values, so
// that one round the shared machine disturbed does not decide it; the verdict shows their
// spread beside the median.
type target struct {
	num, den string
	what     string
	measure  measure
	ceiling  bool
	bound    float64
}

// label is how the verdict names the target: "(c)/(e) what" for rates, "(c) p99 / (e) p99
// what" for latencies, what alone for an absolute figure.
func (t target) label() string {
	switch {
	case t.den == "":
		return t.what
	case t.measure == measureP99:
		return fmt.Sprintf("(%s) p99 / (%s) p99 %s", t.num, t.den, t.what)
	}
	return fmt.Sprintf("(%s)/(%s) %s", t.num, t.den, t.what)
}

func (t target) format(v float64) string {
	if t.den == "" {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func (t target) want() string {
	if t.ceiling {
		return "≤ " + t.format(t.bound)
	}
	return "≥ " + t.format(t.bound)
}

func (t target) met(v float64) bool {
	if t.ceiling {
		return v <= t.bound
	}
	return v >= t.bound
}

// value is t's figure in one round: false when a row it needs did not run to the end there.
func (t target) value(r *report, round int) (float64, bool) {
	num := r.measured(round, t.num)
	if num == nil {
		return 0, false
	}
	v := t.measure.of(num)
	if t.den == "" {
		return v, true
	}
	den := r.measured(round, t.den)
	if den == nil || t.measure.of(den) == 0 {
		return 0, false
	}
	return v / t.measure.of(den), true
}

// judge judges t on the median of its per-round values; rounds in which one of its rows did
// not run do not count, and when none counts the target is skipped.
func (r *report) judge(t target) check {
	c := check{what: t.label(), want: t.want()}
	n := r.roundCount()
	var vals []float64
	for k := range n {
		if v, ok := t.value(r, k); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		c.skipped = "a row did not run"
		if t.den == "" {
			c.skipped = "did not run"
		}
		return c
	}
	med := median(vals)
	c.got, c.pass = t.format(med), t.met(med)
	if n == 1 {
		return c
	}
	var spread []string
	if len(vals) > 1 {
		spread = append(spread, t.format(slices.Min(vals))+"–"+t.format(slices.Max(vals)))
	}
	if len(vals) < n {
		spread = append(spread, fmt.Sprintf("%d of %d rounds", len(vals), n))
	}
	c.got += " (" + strings.Join(spread, ", ") + ")"
	return c
}
