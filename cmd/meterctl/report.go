package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/meterd/meterd/export"
)

// runReport totals exports: meterctl report -key vendor.key [-by month|day]
// [-format table|csv|json|html] [-o FILE] [-ledger FILE] [-provisions [-vendor-pub FILE]] usage.db...
func runReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", "-key FILE [-by month|day] [-format table|csv|json|html] [-o FILE] [-ledger FILE] [-provisions [-vendor-pub FILE]] usage.db...", stdout, stderr)
	keyPath := fs.String("key", "", "the key `file` shared with the agent (meterctl keygen)")
	by := fs.String("by", "month", "total per `period`: month or day (UTC)")
	format := fs.String("format", "table", "output `format`: table, csv, json, or html (one self-contained page: totals, a chart of units per day, every file's verify summary)")
	outPath := fs.String("o", "", "write the report to `file` instead of standard output, whole and only when the report succeeds")
	ledgerPath := fs.String("ledger", "", "vendor ledger `file`: refuse replayed and forked exports, total only rows past each agent's accepted head, and record the new heads")
	provisions := fs.Bool("provisions", false, "list the provisioning transactions per externalId, with units and whether the vendor signed them, instead of totals")
	pubPath := fs.String("vendor-pub", "", "with -provisions: the vendor's public signing key `file`, to check the signatures (else they are listed as unchecked)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if *pubPath != "" && !*provisions {
		return fs.badUsage("-vendor-pub goes with -provisions")
	}
	if *provisions {
		return toOutput(fs, *outPath, stdout, func(w io.Writer) int {
			return runProvisions(fs, *keyPath, *ledgerPath, *pubPath, *format, w)
		})
	}
	period, err := export.ParsePeriod(*by)
	render := renderers[*format]
	switch {
	case *keyPath == "":
		return fs.badUsage("-key is required")
	case err != nil:
		return fs.badUsage("-by %q: want month or day", *by)
	case render == nil && *format != "html":
		return fs.badUsage("-format %q: want table, csv, json or html", *format)
	case fs.NArg() == 0:
		return fs.badUsage("no usage database given")
	}
	key, ledger, err := loadInputs(*keyPath, *ledgerPath)
	if err != nil {
		return fs.fail(err)
	}
	paths, err := usagePaths(fs.Args())
	if err != nil {
		return fs.fail(err)
	}
	return toOutput(fs, *outPath, stdout, func(stdout io.Writer) int {
		var out bytes.Buffer
		if *format == "html" {
			err = htmlReport(&out, paths, key, period, ledger, *ledgerPath)
		} else {
			var totals []export.Total
			if totals, _, err = export.ReportWith(paths, key, export.ReportOptions{By: period, Ledger: ledger}); err == nil {
				render(&out, totals)
			}
		}
		if err != nil {
			return fs.fail(err)
		}
		if ledger != nil { // before printing: totals shown are totals recorded
			if err := ledger.Save(); err != nil {
				return fs.fail(err)
			}
		}
		if _, err := stdout.Write(out.Bytes()); err != nil {
			return fs.fail(err)
		}
		return exitOK
	})
}

var renderers = map[string]func(*bytes.Buffer, []export.Total){
	"table": renderTable,
	"csv":   renderCSV,
	"json":  renderJSON,
}

func renderJSON(w *bytes.Buffer, totals []export.Total) {
	if totals == nil {
		totals = []export.Total{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(struct {
		Totals []export.Total `json:"totals"`
	}{totals})
}

func renderCSV(w *bytes.Buffer, totals []export.Total) {
	cw := csv.NewWriter(w)
	cw.Write([]string{"owner", "item", "period", "units", "events"})
	for _, t := range totals {
		cw.Write([]string{t.Owner, t.Item, t.Period, strconv.FormatInt(t.Units, 10), strconv.FormatInt(t.Events, 10)})
	}
	cw.Flush()
}

// renderTable aligns text left and numbers right, and ends with a TOTAL
// line.
func renderTable(w *bytes.Buffer, totals []export.Total) {
	rows := [][]string{{"OWNER", "ITEM", "PERIOD", "UNITS", "EVENTS"}}
	var units, events int64
	for _, t := range totals {
		rows = append(rows, []string{t.Owner, t.Item, t.Period, strconv.FormatInt(t.Units, 10), strconv.FormatInt(t.Events, 10)})
		units, events = units+t.Units, events+t.Events
	}
	rows = append(rows, []string{"TOTAL", "", "", strconv.FormatInt(units, 10), strconv.FormatInt(events, 10)})
	width := make([]int, 5)
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		line := fmt.Sprintf("%-*s  %-*s  %-*s  %*s  %*s", width[0], r[0], width[1], r[1], width[2], r[2], width[3], r[3], width[4], r[4])
		w.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}
