// Command traceidle reads a runtime/trace file (bench/load -trace writes one) and prints how
// long the processors (the runtime's Ps) sat idle: from a P stopping to its next start, summed
// over the Ps and set against the trace's span times their number, with the idle stretches'
// count and percentiles. A row whose cores sit idle is bound by waits; one whose cores do not
// is bound by the CPU it spends per request.
//
//	go -C bench run ./load -only b -duration 4s -trace b.trace
//	go -C bench run ./traceidle b.trace
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: traceidle TRACE_FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "traceidle:", err)
		os.Exit(1)
	}
	defer f.Close()
	st, err := idleOf(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "traceidle:", err)
		os.Exit(1)
	}
	fmt.Println(st)
}

// idleStats is what a trace says about its Ps' idle time.
type idleStats struct {
	span    time.Duration   // first to last event
	procs   int             // Ps seen running
	stops   int             // a running P went idle
	stretch []time.Duration // each idle stretch, sorted
	total   time.Duration
}

func (s idleStats) share() float64 {
	if s.span <= 0 || s.procs == 0 {
		return 0
	}
	return float64(s.total) / (float64(s.span) * float64(s.procs))
}

func (s idleStats) quantile(q float64) time.Duration {
	if len(s.stretch) == 0 {
		return 0
	}
	return s.stretch[int(q*float64(len(s.stretch)-1))]
}

func (s idleStats) String() string {
	return fmt.Sprintf("span %v, %d Ps, %d stops (%.0f/s), idle %v = %.1f %% of the Ps' time; stretches p50 %v, p90 %v, p99 %v",
		s.span.Round(time.Millisecond), s.procs, s.stops, float64(s.stops)/s.span.Seconds(), s.total.Round(time.Microsecond),
		100*s.share(), s.quantile(0.5), s.quantile(0.9), s.quantile(0.99))
}

// idleOf reads a trace. A P counts as idle from the moment it stops running until it runs
// again, or until the trace ends; one that never ran is not counted at all.
func idleOf(r io.Reader) (idleStats, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return idleStats{}, err
	}
	var st idleStats
	var first, last trace.Time
	seen := map[trace.ProcID]bool{}
	idleSince := map[trace.ProcID]trace.Time{}
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return idleStats{}, err
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		tr := ev.StateTransition()
		if tr.Resource.Kind != trace.ResourceProc {
			continue
		}
		p := tr.Resource.Proc()
		from, to := tr.Proc()
		switch {
		case from == trace.ProcRunning && to == trace.ProcIdle:
			seen[p] = true
			idleSince[p] = ev.Time()
			st.stops++
		case to == trace.ProcRunning:
			seen[p] = true
			if t, ok := idleSince[p]; ok {
				st.stretch = append(st.stretch, time.Duration(ev.Time()-t))
				delete(idleSince, p)
			}
		}
	}
	for _, t := range idleSince {
		st.stretch = append(st.stretch, time.Duration(last-t))
	}
	slices.Sort(st.stretch)
	for _, d := range st.stretch {
		st.total += d
	}
	st.span, st.procs = time.Duration(last-first), len(seen)
	return st, nil
}
