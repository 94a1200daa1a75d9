package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/config"
)

// quick are options for runs that check the wiring, not the speed.
func quick(t *testing.T, args ...string) *options {
	t.Helper()
	o, err := parseFlags(append([]string{"-conns", "4", "-duration", "300ms", "-warmup", "100ms", "-licenses", "3"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	return &o
}

// checkRows fails unless every row that ran answered every request with a grant.
func checkRows(t *testing.T, rep *report, wantRows int) {
	t.Helper()
	if len(rep.rows) != wantRows {
		t.Fatalf("%d rows, want %d", len(rep.rows), wantRows)
	}
	for _, rw := range rep.rows {
		if rw.skipped != "" {
			continue
		}
		r := rw.res
		if rw.err != nil || r == nil {
			t.Fatalf("%s: %v", rw.label(), rw.err)
		}
		if r.requests == 0 || r.grants != r.decisions || r.other+r.errors+r.denies != 0 || r.hist.total != r.requests {
			t.Fatalf("%s: %d requests, %d decisions, %d grants, %d denies, %d other, %d errors (%v); want grants only",
				rw.label(), r.requests, r.decisions, r.grants, r.denies, r.other, r.errors, r.firstErr)
		}
	}
}

func TestCompare(t *testing.T) {
	o := quick(t, "-keys", "0.5", "-units", "1-5")
	if _, err := exec.LookPath(o.redisServer); err != nil {
		if os.Getenv("METERD_REQUIRE_TOOLS") == "1" {
			t.Fatal("redis-server not on PATH, and METERD_REQUIRE_TOOLS=1: row (e) must run")
		}
		t.Log("redis-server not installed: row (e) is skipped")
	}
	rep, err := compare(o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rep, len(compareRuns))
	if v := rep.verdicts(); len(v) != len(compareTargets) {
		t.Fatalf("%d verdicts, want %d", len(v), len(compareTargets))
	}
	text := rep.text()
	for _, want := range []string{"(a) bare fasthttp", "(g) meterd sync engine only", "(c256) meterd sync 256 conns", "(b)/(a)",
		"(c) p99 / (e) p99", "(c256)/(b256)", "p999",
		"(c) meterd sync: ", "records per WAL group", "stop took"} {
		if !strings.Contains(text, want) {
			t.Fatalf("report lacks %q:\n%s", want, text)
		}
	}
	// Every row on a Pebble log (and (h), on its own file) timed its fdatasyncs: the timing
	// file system reached the log, or the note would count none.
	for _, id := range []string{"b", "c", "f", "g", "h", "i", "j", "k", "b256", "c256"} {
		if !regexp.MustCompile(`(?m)^\(` + id + `\) [^:\n]*: .*\b[1-9][0-9]* fdatasyncs, p50 `).MatchString(text) {
			t.Fatalf("row (%s) timed no fdatasync:\n%s", id, text)
		}
	}
}

func TestCompareOnly(t *testing.T) {
	rep, err := compare(quick(t, "-only", "a,d"))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rep, 2)
	if c := rep.judge(target{num: "b", den: "a", what: "x", bound: 0.75}); c.skipped == "" {
		t.Fatalf("(b)/(a) judged without row (b): %+v", c)
	}
	if c := rep.judge(target{num: "a", den: "d", what: "x", bound: 0}); c.skipped != "" || !c.pass {
		t.Fatalf("(a)/(d) not judged although both ran: %+v", c)
	}
}

func TestRoundOrder(t *testing.T) {
	rows := []string{"a", "b", "c"}
	for k, want := range []string{"abc", "cba", "abc", "cba"} {
		if got := strings.Join(roundOrder(rows, k), ""); got != want {
			t.Fatalf("round %d: %s, want %s", k+1, got, want)
		}
	}
	if strings.Join(rows, "") != "abc" {
		t.Fatalf("roundOrder reordered its argument: %v", rows)
	}
}

// runRounds runs the selected rows round after round, every other round reversed (ABBA),
// each with its own connections, and keeps every round's results.
func TestRunRounds(t *testing.T) {
	var ran []string
	fakeRun := func(id string, conns int) compareRun {
		return compareRun{id: id, name: "row " + id, conns: conns, f: func(o *options, _ string) (*result, error) {
			ran = append(ran, fmt.Sprintf("%s@%d", id, o.conns))
			if id == "c" {
				return nil, errNoRedis
			}
			return fake(float64(100*len(ran)), time.Millisecond), nil
		}}
	}
	runs := []compareRun{fakeRun("a", 0), fakeRun("b", 0), fakeRun("c", 0), fakeRun("b256", 256)}
	rep := runRounds(quick(t, "-rounds", "3", "-only", "a,c,b256"), runs)
	want := "a@4 c@4 b256@256 b256@256 c@4 a@4 a@4 c@4 b256@256"
	if got := strings.Join(ran, " "); got != want {
		t.Fatalf("ran %s, want %s", got, want)
	}
	if len(rep.rows) != 9 || rep.rounds != 3 || rep.failed() != nil {
		t.Fatalf("%d rows in %d rounds (%v), want 9 in 3", len(rep.rows), rep.rounds, rep.failed())
	}
	// Row (a) measured 100 requests in round 1, 600 in round 2 and 700 in round 3.
	for k, n := range []uint64{100, 600, 700} {
		if res := rep.measured(k, "a"); res == nil || res.requests != n {
			t.Fatalf("round %d: (a) measured %+v, want %d requests", k+1, res, n)
		}
		if rw := rep.roundRows(k)[1]; rw.id != "c" || rw.skipped == "" || rw.err != nil {
			t.Fatalf("round %d: second row %+v, want (c) skipped", k+1, rw)
		}
	}
}

func TestBatch(t *testing.T) {
	rep, err := batch(quick(t, "-scenario", "batch", "-batch", "50", "-keys", "0.1"))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rep, 1)
	if r := rep.rows[0].res; r.decisions != 50*r.requests {
		t.Fatalf("%d decisions in %d batches of 50", r.decisions, r.requests)
	}
}

func TestMemory(t *testing.T) {
	o := quick(t, "-scenario", "memory", "-decisions", "4000", "-sample-every", "500")
	rep, err := memory(o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rep, 1)
	if r := rep.rows[0].res; r.decisions != 4000 {
		t.Fatalf("%d decisions, want 4000", r.decisions)
	}
	if lines := strings.Count(rep.table, "\n"); lines != 1+1+8 {
		t.Fatalf("memory table has %d lines, want a header and 9 samples:\n%s", lines, rep.table)
	}
	if len(rep.checks) != 2 || rep.checks[0].skipped != "" {
		t.Fatalf("checks %+v, want WAL and RSS judged", rep.checks)
	}
}

// single drives an agent that runs elsewhere: here one started in-process, with its token file.
func TestSingle(t *testing.T) {
	a, err := startAgent(config.DurabilitySync, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(a.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := single(quick(t, "-scenario", "single", "-url", a.Base, "-token-file", tok))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rep, 1)
	// Without a token, on licenses someone else provisioned: an unknown item is a 404, counted
	// as "other", with the answer kept for the report.
	rep, _ = single(quick(t, "-scenario", "single", "-url", a.Base, "-owner", "organizations/nobody", "-items", "X"))
	if r := rep.rows[0].res; r == nil || r.other == 0 || !strings.Contains(r.firstErr.Error(), "HTTP 404") {
		t.Fatalf("unknown owner: got %+v, want 404s counted as other", r)
	}
}

func TestAppendTo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	o := quick(t)
	res := &result{tally: tally{requests: 100, decisions: 100, grants: 100}, elapsed: time.Second, hist: newHistogram()}
	res.hist.record(time.Millisecond)
	rep := &report{title: "compare", opts: o, rows: []*row{{id: "a", name: "bare fasthttp", res: res}}, machine: machineFacts()}
	rep.machine.finish()
	for range 2 {
		if err := rep.appendTo(path, []string{"-scenario", "compare", "-only", "a b"}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Count(s, "\n## compare, ") != 2 || !strings.Contains(s, "    go -C bench run ./load -scenario compare -only 'a b'\n") ||
		!strings.Contains(s, "(a) bare fasthttp  100") || !strings.Contains(s, "Machine: ") {
		t.Fatalf("appended file:\n%s", s)
	}
}

func TestCountBatch(t *testing.T) {
	var tl tally
	body := []byte(`{"results":[{"status":200,"granted":true},{"status":409,"granted":false},{"status":404,"error":"not_found"}]}`)
	countBatch(&tl, 200, body, 3)
	if tl.grants != 1 || tl.denies != 1 || tl.other != 1 || tl.decisions != 2 || tl.firstErr == nil {
		t.Fatalf("got %+v, want 1 grant, 1 denial, 1 other", tl)
	}
	countBatch(&tl, 415, []byte(`{"error":"unsupported_media_type"}`), 3)
	if tl.other != 2 {
		t.Fatalf("a failed batch request: other %d, want 2", tl.other)
	}
}

// The HTTP load loop allocates nothing per request (counted process-wide, so the bare
// server's side is included; a few background allocations are tolerated).
func TestHTTPWorkerAllocs(t *testing.T) {
	b, err := startBare()
	if err != nil {
		t.Fatal(err)
	}
	defer b.stop()
	l, err := newHTTPLoad(b.base, 0, 1, testMix(unitsRange{1, 5}, 0.5), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.closeIdle()
	w, _ := l.worker(0)
	var tl tally
	for range 100 {
		w.do(&tl)
	}
	const n = 5000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		w.do(&tl)
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.Mallocs-before.Mallocs) / n; per > 0.05 && !raceEnabled {
		t.Fatalf("%.3f allocations per request, want 0", per)
	}
	if tl.grants != 100+n {
		t.Fatalf("%d grants, want %d", tl.grants, 100+n)
	}
}

// TestMain removes the meterd binary that row (l) built, once every test is done with it.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := removeBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "remove the meterd binary:", err)
		code = 1
	}
	os.Exit(code)
}
