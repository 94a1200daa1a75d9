package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/meterd/meterd/export"
)

// runProvisions is meterctl report -provisions: the provisioning transactions of verified
// exports, per externalId, for the vendor to match against its own orders.
func runProvisions(fs *cli, keyPath, ledgerPath, pubPath, format string, stdout io.Writer) int {
	render := provisionRenderers[format]
	switch {
	case keyPath == "":
		return fs.badUsage("-key is required")
	case render == nil:
		return fs.badUsage("-format %q: want table, csv or json", format)
	case fs.NArg() == 0:
		return fs.badUsage("no usage database given")
	}
	key, ledger, err := loadInputs(keyPath, ledgerPath)
	if err != nil {
		return fs.fail(err)
	}
	vopts, err := vendorOptions(pubPath)
	if err != nil {
		return fs.fail(err)
	}
	paths, err := usagePaths(fs.Args())
	if err != nil {
		return fs.fail(err)
	}
	txs, _, err := export.ProvisionReport(paths, key, export.ReportOptions{Ledger: ledger, VendorKey: vopts.VendorKey})
	if err != nil {
		return fs.fail(err)
	}
	var out bytes.Buffer
	render(&out, txs)
	if ledger != nil { // before printing, as for totals
		if err := ledger.Save(); err != nil {
			return fs.fail(err)
		}
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		return fs.fail(err)
	}
	return exitOK
}

var provisionRenderers = map[string]func(*bytes.Buffer, []export.Transaction){
	"table": renderProvisionTable,
	"csv":   renderProvisionCSV,
	"json":  renderProvisionJSON,
}

func renderProvisionJSON(w *bytes.Buffer, txs []export.Transaction) {
	if txs == nil {
		txs = []export.Transaction{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(struct {
		Provisions []export.Transaction `json:"provisions"`
	}{txs})
}

func renderProvisionCSV(w *bytes.Buffer, txs []export.Transaction) {
	cw := csv.NewWriter(w)
	cw.Write([]string{"external_id", "owner", "items", "units", "signature", "problem", "agent", "first_seq", "time"})
	for _, tx := range txs {
		cw.Write([]string{tx.ExternalID, tx.Owner, strings.Join(tx.Items, " "), strconv.FormatInt(tx.Units, 10),
			tx.Signature.String(), tx.Problem, tx.AgentID, strconv.FormatInt(tx.FirstSeq, 10), tx.Time})
	}
	cw.Flush()
}

// renderProvisionTable lists one transaction a line, the agent by the first 8 characters of
// its id (as sealed segments name it) and the time to the second; a problem with a signature
// follows on its own line.
func renderProvisionTable(w *bytes.Buffer, txs []export.Transaction) {
	rows := [][]string{{"EXTERNAL_ID", "OWNER", "ITEMS", "UNITS", "SIGNATURE", "AGENT", "TIME"}}
	for _, tx := range txs {
		rows = append(rows, []string{tx.ExternalID, tx.Owner, strings.Join(tx.Items, ","), strconv.FormatInt(tx.Units, 10),
			tx.Signature.String(), tx.AgentID[:min(8, len(tx.AgentID))], toSecond(tx.Time)})
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for i, r := range rows {
		var line strings.Builder
		for j, c := range r {
			if j == 3 { // units, right-aligned
				line.WriteString(strings.Repeat(" ", width[j]-len(c)) + c + "  ")
				continue
			}
			line.WriteString(c + strings.Repeat(" ", width[j]-len(c)) + "  ")
		}
		w.WriteString(strings.TrimRight(line.String(), " ") + "\n")
		if i > 0 && txs[i-1].Problem != "" {
			w.WriteString("  " + txs[i-1].Problem + "\n")
		}
	}
}

// toSecond cuts the fraction off an RFC 3339 UTC time.
func toSecond(t string) string {
	if i := strings.IndexByte(t, '.'); i >= 0 {
		return t[:i] + "Z"
	}
	return t
}
