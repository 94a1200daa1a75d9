package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// print writes the run's facts and the verdict table.
func (o *outcome) print(w io.Writer, checks []check) {
	io.WriteString(w, o.summary(checks))
}

func (o *outcome) summary(checks []check) string {
	var b strings.Builder
	span := o.end.Sub(o.start)
	fmt.Fprintf(&b, "\nsoak: %s of traffic, %d workers, %.0f steps/s asked, %.1f taken; USAGE_WRITE_INTERVAL %d, IDEMPOTENCY_TTL %s, warm-up %s, a reading every %s\n",
		span.Round(time.Second), o.cfg.workers, o.cfg.rate, float64(o.steps)/span.Seconds(), writeInterval, o.cfg.idemTTL, o.warmup, o.cfg.sample)
	fmt.Fprintf(&b, "answers: %s; keyed replays %d; small licenses ordered %d\n", o.outcomes(), o.led.replays, o.renewals)
	if cpu := o.series(func(r reading) float64 { return r.cpu }); len(cpu) > 1 {
		fmt.Fprintf(&b, "meterd used %.2f CPUs on average during the traffic\n",
			(cpu[len(cpu)-1].v-cpu[0].v)/(cpu[len(cpu)-1].t-cpu[0].t).Seconds())
	}
	if n := len(o.readings); n > 0 {
		first, last := o.readings[0], o.readings[n-1]
		peak := func(v func(reading) float64) float64 { return maxOf(o.series(v)) }
		fmt.Fprintf(&b, "peaks: idempotency keys %.0f, sessions open %.0f, heap in use %s; usage.db %s → %s (%.0f bytes per answer)\n",
			peak(func(r reading) float64 { return r.idemKeys }), peak(func(r reading) float64 { return r.sessions }),
			mib(peak(func(r reading) float64 { return r.heapInuse })), mib(float64(first.usageBytes)), mib(float64(last.usageBytes)),
			float64(last.usageBytes-first.usageBytes)/float64(max(1, o.led.requests())))
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tMEASURED\tLIMIT")
	failed := 0
	for _, c := range checks {
		verdict := "PASS"
		if !c.ok {
			verdict, failed = "FAIL", failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.name, verdict, c.measured, c.limit)
	}
	tw.Flush()
	if failed == 0 {
		fmt.Fprintf(&b, "\nPASS: %d of %d checks\n", len(checks), len(checks))
	} else {
		fmt.Fprintf(&b, "\nFAIL: %d of %d checks failed\n", failed, len(checks))
	}
	return b.String()
}

func (o *outcome) outcomes() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(o.led.outcomes)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, o.led.outcomes[k]))
	}
	return strings.Join(parts, ", ")
}

// appendSummary appends the run to path (bench/RESULTS.md) as a section with its command.
func (o *outcome) appendSummary(path string, checks []check) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if os.IsNotExist(statErr) {
		fmt.Fprint(f, "# Measured results\n\nEach section was appended by the command it shows.\n")
	}
	_, err = fmt.Fprintf(f, "\n## Soak, %s\n\n%s on %s/%s, %d CPUs. Command (after `make build`):\n\n    %s\n\n```text%s```\n",
		o.start.UTC().Format("2006-01-02 15:04 MST"), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		o.cfg.command, o.summary(checks))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
