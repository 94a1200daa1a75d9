package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// writeSegments writes n consumes of agent, with rotation daily, into dir/usage.db and its
// sealed segments, and returns the files' names.
func (e *env) writeSegments(t *testing.T, dir, agent string, n int) []string {
	t.Helper()
	db, err := export.Open(export.Options{Path: filepath.Join(dir, "usage.db"), Key: e.keyBytes, Level: export.Standard,
		AgentID: agent, Rotate: export.RotateDaily, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	as := consumes(1, n, "users/"+agent)
	for len(as) > 0 {
		k := min(50, len(as))
		if _, err := db.Write(as[:k], as[k-1].WALSeq); err != nil {
			t.Fatal(err)
		}
		as = as[k:]
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestSegmentsInADirectory: verify and report take a directory of several agents' segments,
// put each agent's in chain order, and name a missing one.
func TestSegmentsInADirectory(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.dir, "received")
	os.Mkdir(dir, 0o755)
	e.writeSegments(t, dir, "agent-one-0000", 700) // 5 minutes apart: 2026-11-30 23:55 to 2026-12-03 10:10
	other := filepath.Join(e.dir, "other")
	os.Mkdir(other, 0o755)
	e.writeSegments(t, other, "agent-two-0000", 300) // to 2026-12-01 00:50

	r := meterctl(t, "verify", "-key", e.key, other, dir)
	for _, want := range []string{"usage-agent-on-2026-11-30.db: ok agent=agent-one-0000 level=standard rows=",
		"segment=1 period=2026-11-30", "usage-agent-on-2026-12-02.db: ok", "segment=3 period=2026-12-02",
		"received/usage.db: ok agent=agent-one-0000", "segment=4 period=2026-12-03", "other/usage.db: ok agent=agent-two-0000"} {
		r.want(t, 0, want, "")
	}
	if n := strings.Count(r.stdout, ": ok "); n != 7 {
		t.Fatalf("%d files verified, want 7 (4 of agent one, 3 of agent two):\n%s", n, r.stdout)
	}
	billed := meterctl(t, "report", "-key", e.key, "-format", "csv", dir, other)
	billed.want(t, 0, "users/agent-one-0000,PdfPro,2026-11,3,1\n", "") // 3 units a consume, the first at 23:55
	billed.want(t, 0, "users/agent-one-0000,PdfPro,2026-12,2097,699\n", "")
	billed.want(t, 0, "users/agent-two-0000,PdfPro,2026-12,897,299\n", "")

	page := filepath.Join(e.dir, "report.html")
	meterctl(t, "report", "-key", e.key, "-format", "html", "-o", page, dir, other).want(t, 0, "", "")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<td>3 · 2026-12-02</td>", "<td>4 · 2026-12-03</td>", "<td>2 · 2026-12-01</td>"} {
		if !strings.Contains(string(html), want) {
			t.Fatalf("the HTML report's verification table lacks %q", want)
		}
	}

	os.Remove(filepath.Join(dir, "usage-agent-on-2026-12-01.db"))
	meterctl(t, "verify", "-key", e.key, dir).want(t, 1, "", "agent agent-one-0000: segment 2 missing between")
	meterctl(t, "report", "-key", e.key, dir).want(t, 1, "", "segment 2 missing")
}
