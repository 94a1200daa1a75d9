package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what a scenario measured, printed as a table and, with -append, added to a file.
type report struct {
	title     string
	opts      *options
	rows      []*row   // in the order they ran: with rounds, every round's
	rounds    int      // compare's -rounds: above 1, a table per round, then one of medians
	turns     bool     // the rounds are -turn's cycles: too many for a table each
	decisions bool     // show decisions/s (batches carry many per request)
	targets   []target // ratios between rows (or absolute rates) to judge
	table     string   // a scenario's own table (memory), printed after the rows
	checks    []check  // verdicts the scenario judged itself
	notes     []string
	machine   *machine
}

// row is one line of a report: what ran and what it measured, or why it did not run.
type row struct {
	id, name string
	round    int // 0-based round of compare -rounds that ran it; 0 elsewhere
	res      *result
	skipped  string
	err      error
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
			errs = append(errs, fmt.Errorf("%s%s: %w", r.roundPrefix(rw), rw.label(), rw.err))
		}
	}
	return errors.Join(errs...)
}

// label names a row: compare's rows (a letter, perhaps followed by digits) by their id in
// parentheses, "(b256) meterd async 256 conns"; the one row of the other scenarios by its name.
func (rw *row) label() string {
	if isRowLetter(rw.id) {
		return "(" + rw.id + ") " + rw.name
	}
	return rw.name
}

func isRowLetter(id string) bool {
	return id != "" && id[0] >= 'a' && id[0] <= 'z' && strings.Trim(id[1:], "0123456789") == ""
}

// roundPrefix tells rounds apart in notes and errors when there is more than one.
func (r *report) roundPrefix(rw *row) string {
	if r.rounds > 1 {
		return fmt.Sprintf("round %d: ", rw.round+1)
	}
	return ""
}

func (r *report) roundCount() int { return max(r.rounds, 1) }

// roundRows are the rows of round k in the listed order (the order of the first round),
// whichever order they ran in.
func (r *report) roundRows(k int) []*row {
	var out []*row
	for _, first := range r.rows {
		if first.round != 0 {
			continue
		}
		for _, rw := range r.rows {
			if rw.round == k && rw.id == first.id {
				out = append(out, rw)
				break
			}
		}
	}
	return out
}

// measured returns row id of round k if it ran to the end.
func (r *report) measured(k int, id string) *result {
	for _, rw := range r.rows {
		if rw.round == k && rw.id == id && rw.err == nil && rw.res != nil {
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

// text is the report without the machine facts: settings, rows (with rounds, a table per
// round and one of medians), tables, verdicts, notes.
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
	switch {
	case r.turns:
		fmt.Fprintf(&b, ", in %d cycles of %v turns (every server up; even cycles run the rows in reverse order)", r.rounds, o.turn)
	case r.rounds > 1:
		fmt.Fprintf(&b, ", %d rounds (even rounds run the rows in reverse order)", r.rounds)
	}
	b.WriteString("\n\n")
	notes := r.notes
	if r.rounds > 1 {
		r.writeRounds(&b)
	} else {
		r.writeRows(&b, r.rows)
		notes = append(append([]string(nil), notes...), r.rowNotes(r.rows)...)
	}
	if r.table != "" {
		b.WriteString("\n" + r.table)
	}
	if v := r.verdicts(); len(v) > 0 {
		b.WriteString("\n")
		writeChecks(&b, v)
	}
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	return b.String()
}

// writeRounds writes each round's table and notes, then the medians over rounds. Turns get
// only the medians, then the notes of the last cycle, which carry the servers' own.
func (r *report) writeRounds(w io.Writer) {
	if r.turns {
		fmt.Fprintf(w, "median of %d cycles (verdicts: median of the per-cycle ratios)\n", r.rounds)
		r.writeMedians(w)
		for _, n := range r.rowNotes(r.roundRows(r.rounds - 1)) {
			fmt.Fprintln(w, n)
		}
		return
	}
	for k := range r.rounds {
		order := ""
		if k%2 == 1 {
			order = " (rows run in reverse order)"
		}
		fmt.Fprintf(w, "round %d of %d%s\n", k+1, r.rounds, order)
		rows := r.roundRows(k)
		r.writeRows(w, rows)
		for _, n := range r.rowNotes(rows) {
			fmt.Fprintln(w, n)
		}
		fmt.Fprintln(w)
	}
	// The ratio column is of the medians; a verdict takes the median of each round's ratio,
	// which drift between rows within a round does not skew.
	fmt.Fprintf(w, "median of %d rounds (verdicts: median of the per-round ratios)\n", r.rounds)
	r.writeMedians(w)
}

func (r *report) writeRows(w io.Writer, rows []*row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	dec, per := "", "req"
	if r.decisions {
		dec, per = "decisions/s\t", "decision"
	}
	fmt.Fprintf(tw, "scenario\treq/s\t%sratio\tp50\tp99\tp999\tCPU\tCPU/%s\tgrants\tdenies\tother\terrors\n", dec, per)
	var base float64
	for _, rw := range rows {
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
			cpuPer := res.cpuPer(res.requests)
			if r.decisions {
				dec = fmt.Sprintf("%.0f\t", res.decisionRate())
				cpuPer = res.cpuPer(res.decisions)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s%.2f\t%s\t%s\t%s\t%.0f%%\t%s\t%d\t%d\t%d\t%d\n", rw.label(), res.rate(), dec, res.rate()/base,
				fmtLatency(res.hist.quantile(0.5)), fmtLatency(res.hist.quantile(0.99)), fmtLatency(res.hist.quantile(0.999)),
				res.cpuShare(), fmtLatency(cpuPer), res.grants, res.denies, res.other, res.errors)
		}
	}
	tw.Flush()
}

// writeMedians writes each row's medians over the rounds that measured it, in the listed
// order; the ratio is against the first row's median rate.
func (r *report) writeMedians(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\treq/s\tratio\tp50\tp99\tp999\tCPU\tCPU/req\trounds\n")
	var base float64
	for _, first := range r.roundRows(0) {
		var measured []*result
		for k := range r.rounds {
			if res := r.measured(k, first.id); res != nil {
				measured = append(measured, res)
			}
		}
		switch {
		case len(measured) == 0 && first.skipped != "":
			fmt.Fprintf(tw, "%s\tskipped: %s\n", first.label(), first.skipped)
		case len(measured) == 0:
			fmt.Fprintf(tw, "%s\tfailed in every round\n", first.label())
		default:
			m := mediansOf(measured)
			if base == 0 {
				base = m.rate
			}
			rounds := strconv.Itoa(len(measured))
			if len(measured) < r.rounds {
				rounds = fmt.Sprintf("%d of %d", len(measured), r.rounds)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%s\t%s\t%s\t%.0f%%\t%s\t%s\n", first.label(), m.rate, m.rate/base,
				fmtLatency(m.p50), fmtLatency(m.p99), fmtLatency(m.p999), m.cpuShare, fmtLatency(m.cpuPer), rounds)
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

// rowNotes are each row's note and first unexpected answer (with rounds, printed under the
// round's table).
func (r *report) rowNotes(rows []*row) []string {
	var notes []string
	for _, rw := range rows {
		if rw.res == nil {
			continue
		}
		label := rw.label()
		if n := joinNotes(rw.res.note, rw.res.sched); n != "" {
			notes = append(notes, label+": "+n)
		}
		if rw.res.firstErr != nil && rw.res.other+rw.res.errors > 0 {
			notes = append(notes, fmt.Sprintf("%s: first error: %v", label, rw.res.firstErr))
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
