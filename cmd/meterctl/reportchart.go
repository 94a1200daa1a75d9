package main

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/meterd/meterd/export"
)

// The chart is drawn here rather than by a charting library: stacked bars
// on a linear scale are a few dozen lines, and the page must not load
// anything.

// chart is the SVG geometry of a stacked bar chart of units per UTC day,
// one colour per owner and item. Only days with units get bars, so a span
// of years (a customer's clock) costs labels, not memory.
type chart struct {
	Width, Height int
	Left, Right   string // x of the plot's edges
	Bottom        string // y of the x axis
	Bars          []bar
	YTicks        []tick
	XTicks        []tick
	Series        []series
	First, Last   string // the days the x axis spans
}

type bar struct {
	X, Y, W, H string
	Color      string
	Title      string // what a hover shows: day, owner, item, units
}

type tick struct {
	Pos   string // y of a y tick, x of an x tick
	Label string
}

type series struct {
	Owner, Item, Color string
	Units              int64
}

// palette is Okabe and Ito's colours, told apart by colour-blind readers
// too, with grey for their black; series past the eighth reuse them.
var palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999"}

const (
	chartW, chartH    = 1000, 200
	padLeft, padRight = 72, 16
	padTop, padBottom = 10, 30
	plotW, plotH      = chartW - padLeft - padRight, chartH - padTop - padBottom
	maxXTicks         = 10
	dayLayout         = "2006-01-02"
)

// newChart lays out daily totals (period "YYYY-MM-DD", sorted by owner,
// item and day, as export.ReportWith returns them by day). It returns nil
// when there is nothing to draw.
func newChart(daily []export.Total) *chart {
	if len(daily) == 0 {
		return nil
	}
	c := &chart{Width: chartW, Height: chartH, Left: num(padLeft), Right: num(padLeft + plotW),
		Bottom: num(padTop + plotH)}
	first, last := day(daily[0].Period), day(daily[0].Period)
	stack := map[int64]int64{} // units already stacked per day (days since the epoch)
	idx := map[[2]string]int{}
	for _, t := range daily {
		d := day(t.Period)
		first, last = min(first, d), max(last, d)
		stack[d] += t.Units
		k := [2]string{t.Owner, t.Item}
		if _, ok := idx[k]; !ok {
			idx[k] = len(c.Series)
			c.Series = append(c.Series, series{Owner: t.Owner, Item: t.Item, Color: palette[len(c.Series)%len(palette)]})
		}
		c.Series[idx[k]].Units += t.Units
	}
	top := slices.Max(mapValues(stack))
	step, yMax := scale(top)
	for v := int64(0); ; v += step {
		c.YTicks = append(c.YTicks, tick{num(padTop + plotH - float64(v)/float64(yMax)*plotH), strconv.FormatInt(v, 10)})
		if v > yMax-step { // not v+step > yMax, which could overflow
			break
		}
	}
	days := last - first + 1
	slot := float64(plotW) / float64(days)
	x := func(d int64) float64 { return padLeft + float64(d-first)*slot }
	every := (days + maxXTicks - 1) / maxXTicks
	for d := first; d <= last; d += every {
		c.XTicks = append(c.XTicks, tick{num(x(d) + slot/2), time.Unix(d*86400, 0).UTC().Format(dayLayout)})
	}
	c.First, c.Last = time.Unix(first*86400, 0).UTC().Format(dayLayout), time.Unix(last*86400, 0).UTC().Format(dayLayout)
	clear(stack)
	w := max(slot*0.8, 1)
	for _, t := range daily {
		if t.Units == 0 {
			continue
		}
		d := day(t.Period)
		// Both edges rounded first, so that a bar ends where the one below begins.
		bottom := round1(padTop + plotH - float64(stack[d])/float64(yMax)*plotH)
		stack[d] += t.Units
		top := round1(padTop + plotH - float64(stack[d])/float64(yMax)*plotH)
		c.Bars = append(c.Bars, bar{X: num(x(d) + (slot-w)/2), Y: num(top), W: num(w), H: num(bottom - top),
			Color: c.Series[idx[[2]string{t.Owner, t.Item}]].Color,
			Title: t.Period + " " + t.Owner + " " + t.Item + ": " + strconv.FormatInt(t.Units, 10) + " units"})
	}
	return c
}

// day is a "YYYY-MM-DD" period as days since 1970-01-01.
func day(period string) int64 {
	t, err := time.Parse(dayLayout, period)
	if err != nil {
		panic("BUG: meterctl: daily period " + period)
	}
	return t.Unix() / 86400 // exact: midnight UTC
}

// scale returns a tick step of 1, 2 or 5 times a power of ten that puts
// the highest bar under at most five steps, and the axis top, a multiple of
// the step at or above top (at least one step).
func scale(top int64) (step, yMax int64) {
	for step = 1; step <= math.MaxInt64/50; step *= 10 {
		for _, m := range [...]int64{1, 2, 5} {
			if s := step * m; top <= 5*s {
				return s, max(s, (top+s-1)/s*s)
			}
		}
	}
	return step, top // past 10^17 units a day: one step, to the top
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// num formats a coordinate to a tenth of a pixel.
func num[T int | float64](v T) string { return strconv.FormatFloat(float64(v), 'f', 1, 64) }

func mapValues(m map[int64]int64) []int64 {
	out := make([]int64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
