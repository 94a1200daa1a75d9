package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"

	"github.com/meterd/meterd/export"
)

// The page of meterctl report -format html is one self-contained file: CSS
// and SVG inline, no script, nothing fetched (its Content-Security-Policy
// forbids it too), so it can be mailed, archived and opened offline.
//
//go:embed reporthtml.tmpl
var reportHTMLText string

var reportHTML = template.Must(template.New("report").Parse(reportHTMLText))

type htmlPage struct {
	By            string
	Totals        []htmlTotal
	Units, Events int64
	Chart         *chart
	Files         []htmlFile
	Ledger        bool
	Warnings      int
}

// htmlTotal is a line of the totals table; one that bills unexported
// units (units without the actions behind them) is highlighted.
type htmlTotal struct {
	export.Total
	Unexported int64
}

// htmlFile is a file's verify summary with its warning lines.
type htmlFile struct {
	*export.Summary
	Seqs     string
	From     int64 // with a ledger: the first seq this report bills
	Warnings []string
}

// htmlReport verifies and totals the files as the other formats do, by day
// for the chart, and writes the page. With a ledger, the file at
// ledgerPath is read a second time, apart from the ledger the report
// advances, so that the page can tell which rows earlier reports billed.
func htmlReport(w *bytes.Buffer, paths []string, key []byte, by export.Period, ledger *export.Ledger, ledgerPath string) error {
	var before *export.Ledger
	if ledger != nil {
		var err error
		if before, err = export.LoadLedger(ledgerPath); err != nil {
			return err
		}
	}
	daily, sums, err := export.ReportWith(paths, key, export.ReportOptions{By: export.ByDay, Ledger: ledger})
	if err != nil {
		return err
	}
	page := htmlPage{By: by.String(), Chart: newChart(daily), Ledger: ledger != nil}
	unexported := map[[3]string]int64{}
	for _, s := range sums {
		f := htmlFile{Summary: s, Seqs: "none", From: 1}
		if s.Rows > 0 {
			f.Seqs = fmt.Sprintf("%d-%d", s.FirstSeq, s.LastSeq)
		}
		if before != nil {
			e, _ := before.Head(s.AgentID)
			f.From = e.HeadSeq + 1
		}
		for _, g := range s.Gaps {
			f.Warnings = append(f.Warnings, gapLine(s.Path, g))
			if g.Seq >= f.From { // billed here, not by an earlier report
				unexported[[3]string{g.Owner, g.Item, periodOf(g.Until.Format(dayLayout), by)}] += g.Units
			}
		}
		page.Warnings += len(f.Warnings)
		page.Files = append(page.Files, f)
	}
	for _, t := range rollUp(daily, by) {
		page.Units, page.Events = page.Units+t.Units, page.Events+t.Events
		page.Totals = append(page.Totals, htmlTotal{t, unexported[[3]string{t.Owner, t.Item, t.Period}]})
	}
	return reportHTML.Execute(w, page)
}

// rollUp turns daily totals (sorted by owner, item and day) into totals
// per by, in the same order.
func rollUp(daily []export.Total, by export.Period) []export.Total {
	var out []export.Total
	for _, t := range daily {
		t.Period = periodOf(t.Period, by)
		if n := len(out); n > 0 && out[n-1].Owner == t.Owner && out[n-1].Item == t.Item && out[n-1].Period == t.Period {
			out[n-1].Units += t.Units
			out[n-1].Events += t.Events
			continue
		}
		out = append(out, t)
	}
	return out
}

// periodOf is the period of a day ("YYYY-MM-DD"): the day itself, or its
// month.
func periodOf(day string, by export.Period) string {
	if by == export.ByMonth {
		return day[:7]
	}
	return day
}
