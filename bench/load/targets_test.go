package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fake is a measured row: rate requests in one second, every one taking lat (so that every
// quantile is lat), on half a core.
func fake(rate float64, lat time.Duration) *result {
	n := uint64(rate)
	res := &result{tally: tally{requests: n, decisions: n, grants: n}, elapsed: time.Second, hist: newHistogram(), cpu: 500 * time.Millisecond}
	res.hist.record(lat)
	return res
}

// fakeRounds is a compare report of len(rates) rounds of rows a and b, with b's rate and
// latency set per round; a answers 1000 requests/s in 10ms. A zero rate for b leaves b out
// of that round.
func fakeRounds(t *testing.T, aRates, bRates []float64, bLat []time.Duration) *report {
	t.Helper()
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := &report{title: "compare", opts: &o, rounds: len(aRates)}
	for k := range aRates {
		if aRates[k] > 0 {
			rep.rows = append(rep.rows, &row{id: "a", name: "bare fasthttp", round: k, res: fake(aRates[k], 10*time.Millisecond)})
		}
		if bRates[k] > 0 {
			rep.rows = append(rep.rows, &row{id: "b", name: "meterd async", round: k, res: fake(bRates[k], bLat[k])})
		}
	}
	return rep
}

func ms(vals ...float64) []time.Duration {
	out := make([]time.Duration, len(vals))
	for i, v := range vals {
		out[i] = time.Duration(v * float64(time.Millisecond))
	}
	return out
}

func checkVerdict(t *testing.T, c check, what, got, want string, pass bool) {
	t.Helper()
	if c.skipped != "" || c.what != what || c.got != got || c.want != want || c.pass != pass {
		t.Fatalf("got %+v, want %q %q %q pass=%v", c, what, got, want, pass)
	}
}

// A target is judged on the median of the per-round ratios, not on the ratio of the medians
// (here 0.90), and shows their spread.
func TestJudgeMedianOfRatios(t *testing.T) {
	rep := fakeRounds(t, []float64{1000, 500, 2000}, []float64{900, 400, 1200}, ms(10, 10, 10))
	floor := target{num: "b", den: "a", what: "async / bare", bound: 0.75}
	checkVerdict(t, rep.judge(floor), "(b)/(a) async / bare", "0.80 (0.60–0.90)", "≥ 0.75", true)
	floor.bound = 0.85
	checkVerdict(t, rep.judge(floor), "(b)/(a) async / bare", "0.80 (0.60–0.90)", "≥ 0.85", false)

	// An even number of rounds: the mean of the middle two.
	rep = fakeRounds(t, []float64{1000, 1000}, []float64{800, 900}, ms(10, 10))
	checkVerdict(t, rep.judge(floor), "(b)/(a) async / bare", "0.85 (0.80–0.90)", "≥ 0.85", true)

	// One round prints as it always did: the ratio alone.
	rep = fakeRounds(t, []float64{1000}, []float64{880}, ms(10))
	rep.rounds = 0
	checkVerdict(t, rep.judge(floor), "(b)/(a) async / bare", "0.88", "≥ 0.85", true)
}

func TestJudgeP99Ceiling(t *testing.T) {
	ceiling := target{num: "b", den: "a", what: "async / bare", measure: measureP99, ceiling: true, bound: 1}
	// p99 of b over a's 10ms: 0.9, 1.1, 0.8; median 0.9.
	rep := fakeRounds(t, []float64{1000, 1000, 1000}, []float64{500, 500, 500}, ms(9, 11, 8))
	checkVerdict(t, rep.judge(ceiling), "(b) p99 / (a) p99 async / bare", "0.90 (0.80–1.10)", "≤ 1.00", true)
	// 1.2, 0.9, 1.1; median 1.1.
	rep = fakeRounds(t, []float64{1000, 1000, 1000}, []float64{500, 500, 500}, ms(12, 9, 11))
	checkVerdict(t, rep.judge(ceiling), "(b) p99 / (a) p99 async / bare", "1.10 (0.90–1.20)", "≤ 1.00", false)
	// Exactly at the ceiling passes.
	rep = fakeRounds(t, []float64{1000}, []float64{500}, ms(10))
	checkVerdict(t, rep.judge(ceiling), "(b) p99 / (a) p99 async / bare", "1.00", "≤ 1.00", true)
}

// A round in which a row of the target did not run to the end does not count; with none
// left, the target is skipped.
func TestJudgeSkipsRoundsWithoutBothRows(t *testing.T) {
	floor := target{num: "b", den: "a", what: "async / bare", bound: 0.75}
	rep := fakeRounds(t, []float64{1000, 1000, 1000}, []float64{800, 0, 900}, ms(10, 0, 10))
	checkVerdict(t, rep.judge(floor), "(b)/(a) async / bare", "0.85 (0.80–0.90, 2 of 3 rounds)", "≥ 0.75", true)

	// Round 2's (a) skipped, round 3's (b) failed after measuring nothing.
	rep = fakeRounds(t, []float64{1000, 0, 1000}, []float64{800, 900, 900}, ms(10, 10, 10))
	rep.rows = append(rep.rows, &row{id: "a", name: "bare fasthttp", round: 1, skipped: "not installed"})
	for _, rw := range rep.rows {
		if rw.id == "b" && rw.round == 2 {
			rw.err = errors.New("no request completed in the measured window")
		}
	}
	checkVerdict(t, rep.judge(floor), "(b)/(a) async / bare", "0.80 (1 of 3 rounds)", "≥ 0.75", true)

	rep = fakeRounds(t, []float64{1000, 1000}, []float64{0, 0}, ms(0, 0))
	if c := rep.judge(floor); c.skipped != "a row did not run" || c.got != "" {
		t.Fatalf("no round has (b): %+v, want skipped", c)
	}
}

func TestJudgeAbsolute(t *testing.T) {
	floor := target{num: "b", what: "decisions/s", measure: measureDecisions, bound: 800}
	rep := fakeRounds(t, []float64{1000}, []float64{900}, ms(10))
	checkVerdict(t, rep.judge(floor), "decisions/s", "900", "≥ 800", true)
	if c := rep.judge(target{num: "x", what: "x", bound: 1}); c.skipped != "did not run" {
		t.Fatalf("absolute target without its row: %+v, want skipped", c)
	}
}

// With rounds, the report has a table per round in the listed order whatever order the
// round ran in, then each row's medians over the rounds that measured it.
func TestRoundsText(t *testing.T) {
	rep := fakeRounds(t, []float64{1000, 3000, 2000}, []float64{100, 300, 0}, ms(1, 3, 0))
	// Round 2 ran in reverse order.
	rep.rows[2], rep.rows[3] = rep.rows[3], rep.rows[2]
	rep.rows = append(rep.rows, &row{id: "b", name: "meterd async", round: 2, skipped: "not installed"})
	rep.targets = []target{{num: "b", den: "a", what: "async / bare", bound: 0.75}}
	text := rep.text()
	for _, want := range []string{", 3 rounds (even rounds run the rows in reverse order)\n", "\nround 1 of 3\n",
		"\nround 2 of 3 (rows run in reverse order)\n", "\nround 3 of 3\n", "\nmedian of 3 rounds (verdicts: median of the per-round ratios)\n",
		"(b)/(a) async / bare  0.10 (0.10–0.10, 2 of 3 rounds)  ≥ 0.75  MISS"} {
		if !strings.Contains(text, want) {
			t.Fatalf("report lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(section(text, "round 3 of 3"), "skipped: not installed") {
		t.Fatalf("round 3 does not show (b) skipped:\n%s", text)
	}
	// -append writes all of it.
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	if err := rep.appendTo(path, []string{"-rounds", "3"}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "```text\n"+text+"```\n") {
		t.Fatalf("appended file lacks the report (%v):\n%s", err, b)
	}
	round2 := section(text, "round 2 of 3")
	if a, b := strings.Index(round2, "(a) "), strings.Index(round2, "(b) "); a < 0 || b < a {
		t.Fatalf("round 2 not in the listed order:\n%s", round2)
	}
	medians := map[string][]string{}
	for _, line := range strings.Split(section(text, "median of 3 rounds"), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			medians[f[0]] = f
		}
	}
	// (a): 1000, 3000, 2000 → 2000; (b): 100 and 300 → 200, in 1ms and 3ms → 2ms.
	wantA := []string{"(a)", "bare", "fasthttp", "2000", "1.00", "10.0ms", "10.0ms", "10.0ms", "50%", "250µs", "3"}
	wantB := []string{"(b)", "meterd", "async", "200", "0.10", "2.00ms", "2.00ms", "2.00ms", "50%", "3.33ms", "2", "of", "3"}
	if strings.Join(medians["(a)"], " ") != strings.Join(wantA, " ") || strings.Join(medians["(b)"], " ") != strings.Join(wantB, " ") {
		t.Fatalf("medians\n(a) %q\n(b) %q\nwant\n%q\n%q", medians["(a)"], medians["(b)"], wantA, wantB)
	}
}

// section is text from the line that starts with heading to the next blank line.
func section(text, heading string) string {
	i := strings.Index(text, "\n"+heading)
	if i < 0 {
		return ""
	}
	s := text[i+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

func TestRowLabel(t *testing.T) {
	for id, want := range map[string]string{"a": "(a) x", "b256": "(b256) x", "batch": "x", "memory": "x", "": "x", "B": "x"} {
		if got := (&row{id: id, name: "x"}).label(); got != want {
			t.Fatalf("label of %q: %q, want %q", id, got, want)
		}
	}
}
