package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what a scenario measured, printed as a table and, with -append, added to a file.
type report struct {
	title     string
	opts      *options
	rows      []*row
	decisions bool     // show decisions/s (batches carry many per request)
	targets   []target // ratios between rows (or absolute rates) to judge
	table     string   // a scenario's own table (memory), printed after the rows
	checks    []check  // verdicts the scenario judged itself
	notes     []string
	machine   *machine
}

// check is one verdict: PASS, MISS, or skipped with the reason.
type check struct {
	what, got, want string
	pass            bool
	skipped         string
}

// failed joins the errors of the rows that failed.
func (r *report) failed() error {
	var errs []error
	for _, rw := range r.rows {
		if rw.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rw.label(), rw.err))
		}
	}
	return errors.Join(errs...)
}

func (rw *row) label() string {
	if len(rw.id) == 1 {
		return "(" + rw.id + ") " + rw.name
	}
	return rw.name
}

// measured returns row id if it ran to the end.
func (r *report) measured(id string) *result {
	for _, rw := range r.rows {
		if rw.id == id && rw.err == nil && rw.res != nil {
			return rw.res
		}
	}
	return nil
}

// verdicts judges the targets, then adds the scenario's own checks.
func (r *report) verdicts() []check {
	var out []check
	for _, t := range r.targets {
		out = append(out, r.judge(t))
	}
	return append(out, r.checks...)
}

func (r *report) judge(t target) check {
	num, den := r.measured(t.num), r.measured(t.den)
	if t.den == "" {
		c := check{what: t.what, want: fmt.Sprintf("≥ %.0f", t.min)}
		if num == nil {
			c.skipped = "did not run"
			return c
		}
		v := num.decisionRate()
		c.got, c.pass = fmt.Sprintf("%.0f", v), v >= t.min
		return c
	}
	c := check{what: fmt.Sprintf("(%s)/(%s) %s", t.num, t.den, t.what), want: fmt.Sprintf("≥ %.2f", t.min)}
	if num == nil || den == nil || den.rate() == 0 {
		c.skipped = "a row did not run"
		return c
	}
	v := num.rate() / den.rate()
	c.got, c.pass = fmt.Sprintf("%.2f", v), v >= t.min
	return c
}

// text is the report without the machine facts: settings, rows, tables, verdicts, notes.
func (r *report) text() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "%s: %d conns, ", r.title, o.conns)
	if r.title == "memory" {
		fmt.Fprintf(&b, "%d decisions sampled every %d", o.decisions, o.sampleEvery)
	} else {
		fmt.Fprintf(&b, "%v per row after %v warm-up", o.duration, o.warmup)
	}
	fmt.Fprintf(&b, ", units %s, %d licenses, keys %g", o.units.String(), o.licenses, o.keys)
	if r.decisions && o.batch > 0 {
		fmt.Fprintf(&b, ", batch %d", o.batch)
	}
	b.WriteString("\n\n")
	r.writeRows(&b)
	if r.table != "" {
		b.WriteString("\n" + r.table)
	}
	if v := r.verdicts(); len(v) > 0 {
		b.WriteString("\n")
		writeChecks(&b, v)
	}
	for _, n := range r.allNotes() {
		b.WriteString(n + "\n")
	}
	return b.String()
}

func (r *report) writeRows(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	dec, per := "", "req"
	if r.decisions {
		dec, per = "decisions/s\t", "decision"
	}
	fmt.Fprintf(tw, "scenario\treq/s\t%sratio\tp50\tp99\tp999\tCPU\tCPU/%s\tgrants\tdenies\tother\terrors\n", dec, per)
	var base float64
	for _, rw := range r.rows {
		switch {
		case rw.skipped != "":
			fmt.Fprintf(tw, "%s\tskipped: %s\n", rw.label(), rw.skipped)
		case rw.res == nil:
			fmt.Fprintf(tw, "%s\tfailed: %v\n", rw.label(), rw.err)
		default:
			res := rw.res
			if base == 0 {
				base = res.rate()
			}
			cpuPer := res.cpu / time.Duration(max(res.requests, 1))
			if r.decisions {
				dec = fmt.Sprintf("%.0f\t", res.decisionRate())
				cpuPer = res.cpu / time.Duration(max(res.decisions, 1))
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s%.2f\t%s\t%s\t%s\t%.0f%%\t%s\t%d\t%d\t%d\t%d\n", rw.label(), res.rate(), dec, res.rate()/base,
				fmtLatency(res.hist.quantile(0.5)), fmtLatency(res.hist.quantile(0.99)), fmtLatency(res.hist.quantile(0.999)),
				100*res.cpu.Seconds()/res.elapsed.Seconds(), fmtLatency(cpuPer),
				res.grants, res.denies, res.other, res.errors)
		}
	}
	tw.Flush()
}

func writeChecks(w io.Writer, checks []check) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range checks {
		if c.skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t%s\tSKIP (%s)\n", c.what, c.want, c.skipped)
			continue
		}
		verdict := "MISS"
		if c.pass {
			verdict = "PASS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.what, c.got, c.want, verdict)
	}
	tw.Flush()
}

// allNotes are the scenario's notes, then each row's note and first unexpected answer.
func (r *report) allNotes() []string {
	notes := append([]string(nil), r.notes...)
	for _, rw := range r.rows {
		if rw.res == nil {
			continue
		}
		if n := joinNotes(rw.res.note, rw.res.sched); n != "" {
			notes = append(notes, rw.label()+": "+n)
		}
		if rw.res.firstErr != nil && rw.res.other+rw.res.errors > 0 {
			notes = append(notes, fmt.Sprintf("%s: first error: %v", rw.label(), rw.res.firstErr))
		}
	}
	return notes
}

func joinNotes(a, b string) string {
	if a != "" && b != "" {
		return a + "; " + b
	}
	return a + b
}

func (r *report) write(w io.Writer) {
	fmt.Fprintln(w)
	fmt.Fprint(w, r.text())
	if r.machine != nil {
		fmt.Fprintln(w, r.machine)
	}
}

// appendTo appends a dated Markdown section: the command, the machine, the report.
func (r *report) appendTo(path string, args []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s, %s\n\n", r.title, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "    %s\n\n", commandLine(args))
	if r.machine != nil {
		fmt.Fprintf(&b, "%s\n\n", r.machine)
	}
	fmt.Fprintf(&b, "```text\n%s```\n", r.text())
	_, err = f.WriteString(b.String())
	return errors.Join(err, f.Close())
}

// commandLine is how to run this again from the repository's root.
func commandLine(args []string) string {
	parts := []string{"go -C bench run ./load"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// fmtLatency prints three significant digits in a unit that suits the value.
func fmtLatency(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	switch {
	case us < 10:
		return fmt.Sprintf("%.2fµs", us)
	case us < 1000:
		return fmt.Sprintf("%.0fµs", us)
	case us < 10_000:
		return fmt.Sprintf("%.2fms", us/1000)
	case us < 100_000:
		return fmt.Sprintf("%.1fms", us/1000)
	}
	return fmt.Sprintf("%.0fms", us/1000)
}
