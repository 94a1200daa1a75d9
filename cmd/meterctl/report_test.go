package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

func TestReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 6 consumes of 3 units from 23:55 on 30 November, 5 minutes apart:
	// one on the 30th, five on 1 December.
	a := e.write(t, "a.db", "agent-a", export.Standard, consumes(1, 4, "users/ann"), consumes(5, 2, "users/ann"))
	b := e.write(t, "b.db", "agent-b", export.Detailed, consumes(1, 6, "organizations/acme"))
	report := func(args ...string) result {
		return meterctl(t, append([]string{"report", "-key", e.key}, args...)...)
	}
	table := "OWNER               ITEM    PERIOD   UNITS  EVENTS\n" +
		"organizations/acme  PdfPro  2026-11      3       1\n" +
		"organizations/acme  PdfPro  2026-12     15       5\n" +
		"users/ann           PdfPro  2026-11      3       1\n" +
		"users/ann           PdfPro  2026-12     15       5\n" +
		"TOTAL                                   36      12\n"
	if r := report(a, b); r.code != 0 || r.stdout != table {
		t.Fatalf("got exit %d\n%s%s\nwant\n%s", r.code, r.stdout, r.stderr, table)
	}
	csv := "owner,item,period,units,events\n" +
		"organizations/acme,PdfPro,2026-11-30,3,1\n" +
		"organizations/acme,PdfPro,2026-12-01,15,5\n" +
		"users/ann,PdfPro,2026-11-30,3,1\n" +
		"users/ann,PdfPro,2026-12-01,15,5\n"
	if r := report("-by", "day", "-format", "csv", a, b); r.code != 0 || r.stdout != csv {
		t.Fatalf("got exit %d\n%s%s\nwant\n%s", r.code, r.stdout, r.stderr, csv)
	}

	r := report("-format", "json", a)
	var got struct {
		Totals []map[string]any `json:"totals"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || len(got.Totals) != 2 {
		t.Fatalf("got exit %d, %v: %s", r.code, err, r.stdout)
	}
	want := map[string]any{"owner": "users/ann", "item": "PdfPro", "period": "2026-12", "units": 15.0, "events": 5.0}
	for k, v := range want {
		if got.Totals[1][k] != v || len(got.Totals[1]) != len(want) {
			t.Fatalf("got %v, want %v", got.Totals[1], want)
		}
	}

	tampered := e.copy(t, b, "tampered.db")
	execSQL(t, tampered, "UPDATE usage SET units = 300 WHERE seq = 2")
	if r := report(a, tampered); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "seq 2: mac mismatch") {
		t.Fatalf("tampered: got exit %d, stdout %q, stderr %q; want 1 and no totals", r.code, r.stdout, r.stderr)
	}
	report("-by", "week", a).want(t, 2, "", `-by "week"`)
	report("-format", "xml", a).want(t, 2, "", `-format "xml"`)
	report(a, a).want(t, 2, "", "same agent")
}

func TestReportLedger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ledger := e.dir + "/vendor.ledger"
	v1 := e.copy(t, e.write(t, "a.db", "agent-a", export.Detailed, consumes(1, 2, "users/ann")), "v1.db")
	v2 := e.copy(t, e.write(t, "a.db", "agent-a", export.Detailed, consumes(3, 4, "users/ann")), "v2.db")
	report := func(file string) result {
		return meterctl(t, "report", "-key", e.key, "-ledger", ledger, "-format", "csv", file)
	}
	report(v1).want(t, 0, "users/ann,PdfPro,2026-11,3,1\nusers/ann,PdfPro,2026-12,3,1\n", "")
	if r := report(v2); r.code != 0 || r.stdout != "owner,item,period,units,events\nusers/ann,PdfPro,2026-12,12,4\n" {
		t.Fatalf("v2: got exit %d, %q; want only the rows past v1", r.code, r.stdout)
	}
	report(v2).want(t, 1, "", "replayed")
}
