package main_test

import (
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// htmlFixture writes two agents' exports over two weeks from 24 November:
// a standard one with two owners and three items (and, after its first
// week, 120 units that reached no row, written as an unexported row), and
// a detailed one. It returns their paths.
func htmlFixture(t *testing.T, e *env) (string, string) {
	t.Helper()
	start := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	lics := []struct{ owner, item, id string }{
		{"organizations/acme", "PdfPro", "lic-acme-pdf"},
		{"organizations/acme", "OcrKit", "lic-acme-ocr"},
		{"users/ann", "PdfPro", "lic-ann-pdf"},
	}
	week := func(first uint64, from int, lic func(day, i int) int) []export.Action {
		var as []export.Action
		seq := first
		for d := from; d < from+7; d++ {
			for i := range 3 + d%4 {
				l := lics[lic(d, i)]
				as = append(as, export.Action{WALSeq: seq, Time: start.Add(time.Duration(d*24+i) * time.Hour), Kind: export.Consume,
					Owner: l.owner, Item: l.item, LicenseID: l.id, Units: int64(5 + (d*7+i*3)%11), Username: "u" + strconv.Itoa(i)})
				seq++
			}
		}
		return as
	}
	open := func(name, agent string, level export.Level) (*export.DB, string) {
		path := filepath.Join(e.dir, name)
		db, err := export.Open(export.Options{Path: path, Key: e.keyBytes, Level: level, AgentID: agent,
			Now: func() time.Time { return start }})
		if err != nil {
			t.Fatal(err)
		}
		return db, path
	}
	write := func(db *export.DB, as []export.Action) {
		if _, err := db.Write(as, as[len(as)-1].WALSeq); err != nil {
			t.Fatal(err)
		}
	}
	db, std := open("acme.db", "agent-acme-5c2f", export.Standard)
	w1 := week(1, 0, func(d, i int) int { return (d + i) % 2 })
	write(db, w1)
	bal := export.Balance{LicenseID: "lic-acme-pdf", Owner: "organizations/acme", Item: "PdfPro",
		Consumed: db.Consumed("lic-acme-pdf") + 120}
	if _, err := db.Reconcile([]export.Balance{bal}, start.Add(7*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	write(db, week(w1[len(w1)-1].WALSeq+1, 7, func(d, i int) int { return (d + i) % 2 }))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, det := open("ann.db", "agent-ann-91d0", export.Detailed)
	for _, from := range []int{0, 7} {
		write(db, week(1+uint64(from)*10, from, func(int, int) int { return 2 }))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return std, det
}

// forbidden is whatever could make a browser fetch something: a URL
// attribute, a CSS url() or @import, a script, a link, a scheme or a
// protocol-relative URL.
var forbidden = regexp.MustCompile(`(?i)\b(src|href|xlink:href|action|srcset|poster|data)\s*=|url\(|@import|<script|<link|<iframe|<object|<embed|<img|https?:|//`)

func TestReportHTML(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	std, det := htmlFixture(t, e)
	out := filepath.Join(e.dir, "report.html")
	r := meterctl(t, "report", "-key", e.key, "-format", "html", "-o", out, std, det)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("got exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n") || !strings.HasSuffix(page, "</html>\n") {
		t.Fatalf("not one whole page:\n%s", page)
	}
	if m := forbidden.FindString(page); m != "" {
		t.Fatalf("the page could fetch something: %q", m)
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Fatal("no Content-Security-Policy forbidding fetches")
	}

	// The totals table holds exactly what -format csv prints, and the line
	// that bills the unexported units is highlighted.
	rows := regexp.MustCompile(`<tr( class="warn")?><td>([^<]*)</td><td>([^<]*)</td><td>(\d{4}-\d\d)</td><td class="n">(\d+)</td><td class="n">(\d+)</td>`).FindAllStringSubmatch(page, -1)
	want := csvRecords(t, meterctl(t, "report", "-key", e.key, "-format", "csv", std, det))
	if len(rows) != len(want) || len(rows) != 6 {
		t.Fatalf("%d total rows in the page, %d in csv:\n%s", len(rows), len(want), page)
	}
	for i, row := range rows {
		if got := strings.Join(row[2:], ","); got != strings.Join(want[i], ",") {
			t.Fatalf("total %d: page %s, csv %s", i, got, strings.Join(want[i], ","))
		}
		if warn := row[2] == "organizations/acme" && row[3] == "PdfPro" && row[4] == "2026-12"; warn != (row[1] != "") {
			t.Fatalf("total %v: highlighted %v, want %v", row[2:], row[1] != "", warn)
		}
	}
	if !strings.Contains(page, `<span class="note">120 units unexported</span>`) {
		t.Fatal("the highlighted total does not say how many units were unexported")
	}
	units, events := sumColumns(want)
	if !strings.Contains(page, fmt.Sprintf(`<tfoot><tr><td>TOTAL</td><td></td><td></td><td class="n">%d</td><td class="n">%d</td>`, units, events)) {
		t.Fatalf("no TOTAL line of %d units and %d events", units, events)
	}

	// Every file's verify summary, and verify's warning for the unexported row.
	v := meterctl(t, "verify", "-key", e.key, std, det)
	warning := regexp.MustCompile(`(?m)^.*: warning: .*$`).FindString(v.stdout)
	if v.code != 0 || warning == "" || !strings.Contains(page, `<li class="warn">`+template(warning)+`</li>`) {
		t.Fatalf("verify's warning %q is not in the page", warning)
	}
	for _, f := range []string{std, det} {
		if !regexp.MustCompile(`<tr( class="warn")?><td>` + regexp.QuoteMeta(f) + `</td><td>ok`).MatchString(page) {
			t.Fatalf("no verify summary of %s", f)
		}
	}

	checkChart(t, page, csvRecords(t, meterctl(t, "report", "-key", e.key, "-by", "day", "-format", "csv", std, det)))
}

// template escapes s as html/template does in text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

// checkChart parses the page's SVG as XML and checks the bars against the
// daily totals: one bar per owner, item and day with units, its height in
// proportion to its units, the bars of a day stacked without overlap.
func checkChart(t *testing.T, page string, daily [][]string) {
	t.Helper()
	i := strings.Index(page, `<svg class="chart"`)
	j := strings.Index(page[max(i, 0):], "</svg>")
	if i < 0 || j < 0 {
		t.Fatal("no chart")
	}
	j += i
	var svg struct {
		Rects []struct {
			Class string  `xml:"class,attr"`
			Y     float64 `xml:"y,attr"`
			H     float64 `xml:"height,attr"`
			Fill  string  `xml:"fill,attr"`
			Title string  `xml:"title"`
		} `xml:"rect"`
		Texts []string `xml:"text"`
	}
	if err := xml.Unmarshal([]byte(page[i:j+len("</svg>")]), &svg); err != nil {
		t.Fatalf("the chart is not well-formed SVG: %v", err)
	}
	if len(svg.Rects) != len(daily) {
		t.Fatalf("%d bars, want one per daily total (%d)", len(svg.Rects), len(daily))
	}
	var height, units float64
	for k, rc := range svg.Rects {
		u, _ := strconv.ParseFloat(daily[k][3], 64)
		height, units = height+rc.H, units+u
	}
	perUnit := height / units    // pixels per unit, which each bar must keep to within rounding
	tops := map[string]float64{} // day -> top of its stack so far
	for k, rc := range svg.Rects {
		d := daily[k] // both in owner, item, day order
		want := fmt.Sprintf("%s %s %s: %s units", d[2], d[0], d[1], d[3])
		if rc.Class != "bar" || rc.Title != want || !strings.HasPrefix(rc.Fill, "#") {
			t.Fatalf("bar %d: %+v, want title %q", k, rc, want)
		}
		units, _ := strconv.ParseFloat(d[3], 64)
		if math.Abs(rc.H-units*perUnit) > 0.1 {
			t.Fatalf("bar %d (%s): height %.1f, want %.1f", k, want, rc.H, units*perUnit)
		}
		if top, ok := tops[d[2]]; ok && math.Abs(rc.Y+rc.H-top) > 0.1 {
			t.Fatalf("bar %d (%s) ends at %.1f, not on its day's stack at %.1f", k, want, rc.Y+rc.H, top)
		}
		tops[d[2]] = rc.Y
	}
	if !strings.Contains(strings.Join(svg.Texts, " "), "2026-11-24") {
		t.Fatalf("the x axis does not start at the first day: %q", svg.Texts)
	}
}

func csvRecords(t *testing.T, r result) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) < 2 {
		t.Fatalf("report -format csv: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return recs[1:]
}

func sumColumns(recs [][]string) (units, events int64) {
	for _, r := range recs {
		u, _ := strconv.ParseInt(r[3], 10, 64)
		e, _ := strconv.ParseInt(r[4], 10, 64)
		units, events = units+u, events+e
	}
	return units, events
}

func TestReportHTMLOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.write(t, "a.db", "agent-a", export.Standard, consumes(1, 4, "users/ann"))
	// No -o: the page goes to stdout.
	r := meterctl(t, "report", "-key", e.key, "-format", "html", "-by", "day", a)
	if r.code != 0 || !strings.Contains(r.stdout, `<td>users/ann</td><td>PdfPro</td><td>2026-12-01</td><td class="n">9</td><td class="n">3</td>`) {
		t.Fatalf("got exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A report that fails writes nothing, and leaves an older file alone.
	out := filepath.Join(e.dir, "report.html")
	if err := os.WriteFile(out, []byte("last month"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := e.copy(t, a, "bad.db")
	execSQL(t, bad, "UPDATE usage SET units = 1 WHERE seq = 1")
	meterctl(t, "report", "-key", e.key, "-format", "html", "-o", out, bad).want(t, 1, "", "seq 1: mac mismatch")
	if b, err := os.ReadFile(out); err != nil || string(b) != "last month" {
		t.Fatalf("after a failed report the file holds %q, %v", b, err)
	}
	meterctl(t, "report", "-key", e.key, "-o", filepath.Join(e.dir, "no", "such", "dir", "r.txt"), a).want(t, 2, "", "-o ")
	// A ledger and -o: the file is written, the ledger records the head, and
	// nothing else is left in the directory.
	ledger := filepath.Join(e.dir, "vendor.ledger")
	meterctl(t, "report", "-key", e.key, "-ledger", ledger, "-format", "csv", "-o", out, a).want(t, 0, "", "")
	if b, err := os.ReadFile(out); err != nil || !strings.HasPrefix(string(b), "owner,item,period,units,events\n") {
		t.Fatalf("-o holds %q, %v", b, err)
	}
	ents, _ := os.ReadDir(e.dir)
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), ".") {
			t.Fatalf("a temporary file was left: %s", ent.Name())
		}
	}
	meterctl(t, "report", "-key", e.key, "-ledger", ledger, "-format", "html", a).want(t, 1, "", "replayed")
	// -provisions takes -o too.
	meterctl(t, "report", "-key", e.key, "-provisions", "-format", "csv", "-o", out, a).want(t, 0, "", "")
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "external_id,") {
		t.Fatalf("-provisions -o holds %q", b)
	}
}

func TestReportHTMLEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	empty := e.write(t, "empty.db", "agent-e", export.Detailed)
	r := meterctl(t, "report", "-key", e.key, "-format", "html", empty)
	if r.code != 0 || strings.Contains(r.stdout, "<svg class") || strings.Count(r.stdout, "No billable units.") != 2 ||
		!strings.Contains(r.stdout, "<td>none</td>") {
		t.Fatalf("got exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestReportHTMLLedger: with a ledger the page says where each file's
// billing starts, and highlights unexported units only in the report that
// bills them.
func TestReportHTMLLedger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := filepath.Join(e.dir, "a.db")
	db, err := export.Open(export.Options{Path: path, Key: e.keyBytes, Level: export.Detailed, AgentID: "agent-a"})
	if err != nil {
		t.Fatal(err)
	}
	first := consumes(1, 2, "users/ann")
	if _, err := db.Write(first, 2); err != nil {
		t.Fatal(err)
	}
	bal := export.Balance{LicenseID: first[0].LicenseID, Owner: "users/ann", Item: "PdfPro", Consumed: 6 + 50}
	if _, err := db.Reconcile([]export.Balance{bal}, first[1].Time); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	v1 := e.copy(t, path, "v1.db")
	v2 := e.copy(t, e.write(t, "a.db", "agent-a", export.Detailed, consumes(3, 2, "users/ann")), "v2.db")
	ledger := filepath.Join(e.dir, "vendor.ledger")
	report := func(file string) string {
		r := meterctl(t, "report", "-key", e.key, "-ledger", ledger, "-format", "html", file)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", file, r.code, r.stderr)
		}
		return r.stdout
	}
	p1 := report(v1)
	if !strings.Contains(p1, `<th>Billed from</th>`) || !strings.Contains(p1, `<td>seq 1</td>`) ||
		!strings.Contains(p1, `<tr class="warn"><td>users/ann</td><td>PdfPro</td><td>2026-12</td><td class="n">53</td><td class="n">1</td><td><span class="note">50 units unexported</span>`) {
		t.Fatalf("first report:\n%s", p1)
	}
	p2 := report(v2)
	if !strings.Contains(p2, `<td>seq 4</td>`) || strings.Contains(p2, `<tr class="warn"><td>users/ann`) ||
		!strings.Contains(p2, `<td class="n">6</td><td class="n">2</td><td></td></tr>`) || !strings.Contains(p2, `<li class="warn">`) {
		t.Fatalf("second report: want billing from seq 4, the old unexported row warned of but not highlighted as billed:\n%s", p2)
	}
}
