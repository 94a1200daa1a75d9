package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Limits of the checks (see doc.go for why each is measured the way it is).
const (
	maxHeapGrowth = 0.20 // heap after warm-up, last window against the first
	stateSlack    = 0.10 // data directory trend over the last third, relative to its mean...
	stateFloor    = 8 << 20
	lagFactor     = 2 // export lag ≤ lagFactor × USAGE_WRITE_INTERVAL + lagHeld × the step rate
	lagHeld       = 0.1
)

// check is one line of the verdict.
type check struct {
	name, measured, limit string
	ok                    bool
}

// outcome is everything one run measured.
type outcome struct {
	cfg        config
	warmup     time.Duration
	start, end time.Time // of the traffic
	readings   []reading
	scrapeErrs int
	scrapeErr  error
	base, idle idleState
	led        ledgerTotals
	steps      int64
	renewals   int64
	stray      int    // unsolicited answers Go's client saw
	strayFirst string // the first of them
	exitCode   int
	stopErr    error
	verifyOut  string
	verifyErr  error
	billed     map[string]int64
	reportErr  error
}

// series picks one value of every reading taken during the traffic, timed from its start.
func (o *outcome) series(v func(reading) float64) []point {
	var ps []point
	for _, r := range o.readings {
		if !r.at.Before(o.start) && !r.at.After(o.end) {
			ps = append(ps, point{r.at.Sub(o.start), v(r)})
		}
	}
	return ps
}

func (o *outcome) checks() []check {
	return []check{o.heapCheck(), o.goroutineCheck(), o.fdCheck(), o.stateCheck(), o.lagCheck(),
		o.fivexxCheck(), o.answerCheck(), o.strayCheck(), o.scrapeCheck(), o.exitCheck(), o.verifyCheck(), o.billingCheck()}
}

// heapCheck compares the largest heap in the last fifth of the traffic with the largest in the
// fifth that follows the warm-up. The heap is a sawtooth between collections; the maximum over
// a window that spans many collections is the top of the tooth, which is proportional to the
// heap live after a collection, while a mean depends on where the samples fell.
func (o *outcome) heapCheck() check {
	c := check{name: "heap after warm-up", limit: fmt.Sprintf("≤ +%.0f %%", maxHeapGrowth*100)}
	span := o.end.Sub(o.start)
	win := span / 5
	inuse := o.series(func(r reading) float64 { return r.heapInuse })
	goal := o.series(func(r reading) float64 { return r.heapGoal })
	first, last := window(inuse, o.warmup, o.warmup+win), window(inuse, span-win, span+1)
	if len(first) < 2 || len(last) < 2 || o.warmup+win > span-win {
		c.measured = fmt.Sprintf("too few readings after a warm-up of %s: run longer", o.warmup)
		return c
	}
	g := growth(maxOf(first), maxOf(last))
	c.ok = g <= maxHeapGrowth
	c.measured = fmt.Sprintf("%+.1f %%: max in-use %s → %s (GC goal %s → %s)", g*100, mib(maxOf(first)), mib(maxOf(last)),
		mib(maxOf(window(goal, o.warmup, o.warmup+win))), mib(maxOf(window(goal, span-win, span+1))))
	return c
}

func (o *outcome) goroutineCheck() check {
	peak := maxOf(o.series(func(r reading) float64 { return r.goroutines }))
	return check{name: "goroutines back to idle", ok: o.idle.goroutines <= o.base.goroutines+goroutineSlack,
		limit: fmt.Sprintf("≤ idle + %d within %s", goroutineSlack, idleBound),
		measured: fmt.Sprintf("idle %.0f, peak %.0f, after %.0f (%.1fs)", o.base.goroutines, peak,
			o.idle.goroutines, o.idle.took.Seconds())}
}

func (o *outcome) fdCheck() check {
	peak := maxOf(o.series(func(r reading) float64 { return r.fds }))
	c := check{name: "open files back to idle", ok: o.idle.fds <= o.base.fdLimit(o.idle.ssts),
		limit: fmt.Sprintf("≤ idle + %d + new tables within %s", fdSlack, idleBound),
		measured: fmt.Sprintf("idle %.0f, peak %.0f, after %.0f (tables %d → %d)", o.base.fds, peak, o.idle.fds,
			o.base.ssts, o.idle.ssts)}
	if !c.ok {
		c.measured += "; extra: " + strings.Join(extra(o.base.files, o.idle.files), ", ")
	}
	return c
}

// stateCheck fits a line to the data directory's size (usage.db aside) over the last third of
// the traffic. Pebble's files move in steps (a 4 MiB memtable flushed to a table, WAL files
// recycled, tables compacted away), so single readings jump; a least-squares line over a
// third of the run sees through the steps, and what it projects across that third must stay
// within a tenth of the mean size or stateFloor, whichever is larger. usage.db is excluded
// because it grows with every row by design; its growth per action is reported instead.
func (o *outcome) stateCheck() check {
	span := o.end.Sub(o.start)
	ps := window(o.series(func(r reading) float64 { return float64(r.stateBytes) }), span*2/3, span+1)
	c := check{name: "data dir not growing",
		limit: fmt.Sprintf("last-third trend ≤ max(%.0f %% of mean, %s)", stateSlack*100, mib(stateFloor))}
	if len(ps) < 3 {
		c.measured = "too few readings in the last third: run longer or sample more often"
		return c
	}
	tr, mean := trend(ps), meanOf(ps)
	c.ok = tr <= max(stateSlack*mean, stateFloor)
	all := o.series(func(r reading) float64 { return float64(r.stateBytes) })
	c.measured = fmt.Sprintf("trend %+.1f MiB over the last %s (mean %s, first %s, max %s)", tr/(1<<20),
		(ps[len(ps)-1].t - ps[0].t).Round(time.Second), mib(mean), mib(all[0].v), mib(maxOf(all)))
	return c
}

func (o *outcome) lagCheck() check {
	limit := float64(lagFactor*writeInterval) + lagHeld*o.cfg.rate
	worst := math.Inf(-1)
	for _, r := range o.readings {
		worst = max(worst, r.lag)
	}
	return check{name: "export lag", ok: worst <= limit, limit: fmt.Sprintf("≤ %.0f actions in every reading", limit),
		measured: fmt.Sprintf("max %.0f actions over %d readings", worst, len(o.readings))}
}

func (o *outcome) fivexxCheck() check {
	server := 0.0
	for _, r := range o.readings {
		server = max(server, r.fivexx)
	}
	return check{name: "no 5xx", ok: server == 0 && o.led.fivexx == 0, limit: "0",
		measured: fmt.Sprintf("%.0f in meterd_requests_total, %d seen by clients", server, o.led.fivexx)}
}

func (o *outcome) answerCheck() check {
	n := o.led.bad - o.led.fivexx + o.led.failures
	c := check{name: "every answer as expected", ok: n == 0, limit: "0 unexpected",
		measured: fmt.Sprintf("%d unexpected, %d without answer, of %d", o.led.bad-o.led.fivexx, o.led.failures,
			o.led.requests()+n)}
	if n > 0 {
		c.measured += "; e.g. " + strings.Join(o.led.examples, " | ")
	}
	return c
}

// strayCheck counts answers to requests that were never sent. The soak sends no request that
// meterd cannot read or route, so every meterd_requests_total{route="other"} is one meterd
// made up, e.g. an error answer written on a connection that sat idle; Go's client reports it
// as an unsolicited response, and had a request been on its way it would have taken that
// answer for its own.
func (o *outcome) strayCheck() check {
	server := 0.0
	for _, r := range o.readings {
		server = max(server, r.unread)
	}
	c := check{name: "no answers to unsent requests", ok: server == 0 && o.stray == 0, limit: "0",
		measured: fmt.Sprintf(`%.0f in meterd_requests_total{route="other"}, %d unsolicited responses seen by clients`,
			server, o.stray)}
	if o.strayFirst != "" {
		c.measured += "; first: " + describeStray(o.strayFirst)
	}
	return c
}

// describeStray shortens net/http's log line of an unsolicited response to its status line
// and the error message of its JSON body.
func describeStray(line string) string {
	_, resp, ok := strings.Cut(line, `starting with "`)
	if !ok {
		return line
	}
	status, _, _ := strings.Cut(resp, `\r\n`)
	if _, msg, ok := strings.Cut(resp, `\"message\":\"`); ok {
		msg, _, _ = strings.Cut(msg, `\"`)
		return status + ": " + msg
	}
	return status
}

func (o *outcome) scrapeCheck() check {
	c := check{name: "every /metrics reading taken", ok: o.scrapeErrs == 0, limit: "0 failed",
		measured: fmt.Sprintf("%d taken, %d failed", len(o.readings), o.scrapeErrs)}
	if o.scrapeErr != nil {
		c.measured += ": " + o.scrapeErr.Error()
	}
	return c
}

func (o *outcome) exitCheck() check {
	c := check{name: "SIGTERM exits 0", ok: o.stopErr == nil && o.exitCode == 0, limit: "exit 0",
		measured: fmt.Sprintf("exit %d", o.exitCode)}
	if o.stopErr != nil {
		c.measured = o.stopErr.Error()
	}
	return c
}

func (o *outcome) verifyCheck() check {
	c := check{name: "meterctl verify", ok: o.verifyErr == nil, limit: "exit 0", measured: strings.TrimSpace(o.verifyOut)}
	if o.verifyErr != nil {
		c.measured = o.verifyErr.Error()
	}
	if i := strings.Index(c.measured, " ok "); i >= 0 { // drop the file path
		c.measured = "ok " + c.measured[i+4:]
	}
	return c
}

func (o *outcome) billingCheck() check {
	c := check{name: "report = acknowledged", limit: "equal per item"}
	if o.reportErr != nil {
		c.measured = o.reportErr.Error()
		return c
	}
	items := slices.Sorted(maps.Keys(unionKeys(o.billed, o.led.units)))
	c.ok = true
	var parts []string
	for _, it := range items {
		b, a := o.billed[it], o.led.units[it]
		c.ok = c.ok && b == a
		parts = append(parts, fmt.Sprintf("%s %d/%d", it, b, a))
	}
	c.measured = "billed/acknowledged: " + strings.Join(parts, ", ")
	return c
}

func unionKeys(a, b map[string]int64) map[string]struct{} {
	out := map[string]struct{}{}
	for k := range a {
		out[k] = struct{}{}
	}
	for k := range b {
		out[k] = struct{}{}
	}
	return out
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
