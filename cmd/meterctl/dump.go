package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/meterd/meterd/export"
)

// runDump prints every row: meterctl dump [-key FILE] [-format text|csv|json]
// usage.db...; with -key each row is marked verified, BAD where the chain
// breaks, or unverified after it, and a file that fails exits 1 once every
// row is printed. Rows stream: a file of any size is never held in memory.
func runDump(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dump", "[-key FILE] [-format text|csv|json] usage.db...", stdout, stderr)
	keyPath := fs.String("key", "", "the key `file` shared with the agent: mark each row verified, BAD where the chain breaks, or unverified after that")
	format := fs.String("format", "text", "output `format`: text (a line per row), csv (with a header line) or json (one object per line)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	newOut := dumpFormats[*format]
	switch {
	case newOut == nil:
		return fs.badUsage("-format %q: want text, csv or json", *format)
	case fs.NArg() == 0:
		return fs.badUsage("no usage database given")
	}
	var key []byte
	if *keyPath != "" {
		var err error
		if key, err = loadKey(*keyPath); err != nil {
			return fs.fail(err)
		}
	}
	w := bufio.NewWriter(stdout)
	out := newOut(w, key != nil)
	code := exitOK
	paths, err := usagePaths(fs.Args())
	if err != nil {
		return fs.fail(err)
	}
	for _, path := range paths {
		info, err := export.Dump(path, key, func(r *export.UsageRow) error { return out.row(path, r) })
		var ve *export.VerifyError
		if err == nil || errors.As(err, &ve) {
			out.end(info, err)
		}
		werr := w.Flush() // rows before the error that ends them
		if err == nil {
			err = werr
		}
		if err != nil {
			code = max(code, fs.fail(err))
		}
	}
	return code
}

// dumpOut writes one format: row for each row, end after each file that
// was read through (verified or not).
type dumpOut interface {
	row(path string, r *export.UsageRow) error
	end(info *export.DumpInfo, err error)
}

var dumpFormats = map[string]func(w *bufio.Writer, keyed bool) dumpOut{
	"text": func(w *bufio.Writer, keyed bool) dumpOut { return &textDump{w: w, keyed: keyed} },
	"csv":  newCSVDump,
	"json": func(w *bufio.Writer, _ bool) dumpOut { return &jsonDump{json.NewEncoder(w)} },
}

// textDump writes, per file, a "# path" line, a line of key=value fields
// per row (led by its mark with -key), and a "# path: ..." line with the
// file's agent, level, row count and seq range, and the verdict.
type textDump struct {
	w       *bufio.Writer
	keyed   bool
	started bool // the current file's header is out
}

func (d *textDump) header(path string) {
	if !d.started {
		fmt.Fprintf(d.w, "# %s\n", path)
		d.started = true
	}
}

func (d *textDump) row(path string, r *export.UsageRow) error {
	d.header(path)
	if d.keyed {
		fmt.Fprintf(d.w, "%-10s ", r.Mark)
	}
	fmt.Fprintf(d.w, "seq=%d batch=%d time=%s action=%s owner=%s item=%s license_id=%s units=%d events=%d license_consumed=%d",
		r.Seq, r.Batch, quote(r.Time), quote(r.Action), quote(r.Owner), quote(r.Item), quote(r.LicenseID), r.Units, r.Events, r.LicenseConsumed)
	for _, f := range [...]struct{ name, val string }{
		{"session", r.Session}, {"username", r.Username}, {"hostname", r.Hostname}, {"ipaddress", r.IPAddress},
		{"external_id", r.ExternalID}, {"problem", r.Problem},
	} {
		if f.val != "" {
			fmt.Fprintf(d.w, " %s=%s", f.name, quote(f.val))
		}
	}
	if r.VendorSignature != "" {
		d.w.WriteString(" vendor_signed=yes")
	}
	return d.w.WriteByte('\n')
}

func (d *textDump) end(info *export.DumpInfo, err error) {
	d.header(info.Path)
	d.started = false
	seqs := "none"
	if info.Rows > 0 {
		seqs = fmt.Sprintf("%d-%d", info.FirstSeq, info.LastSeq)
	}
	verdict := "not verified (no -key)"
	switch {
	case err != nil:
		verdict = "FAILED: " + strings.TrimPrefix(err.Error(), info.Path+": ")
	case d.keyed:
		verdict = "verified"
	}
	fmt.Fprintf(d.w, "# %s: agent=%s level=%s rows=%d seq=%s: %s\n", info.Path, quote(info.AgentID), quote(info.Level), info.Rows, seqs, verdict)
}

// quote leaves a value bare when it reads back unambiguously from a
// space-separated line, and quotes it as Go does otherwise.
func quote(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r == '"' || r == '=' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

var dumpColumns = []string{"file", "seq", "batch", "time", "action", "owner", "item", "license_id", "units",
	"events", "license_consumed", "session", "username", "hostname", "ipaddress", "external_id",
	"vendor_signature", "vendor_request", "check", "problem"}

// csvDump writes one header line, then a record per row of every file;
// check and problem are empty without -key.
type csvDump struct{ w *csv.Writer }

func newCSVDump(w *bufio.Writer, _ bool) dumpOut {
	d := &csvDump{csv.NewWriter(w)}
	d.w.Write(dumpColumns)
	return d
}

func (d *csvDump) row(path string, r *export.UsageRow) error {
	d.w.Write([]string{path, strconv.FormatInt(r.Seq, 10), strconv.FormatInt(r.Batch, 10), r.Time, r.Action,
		r.Owner, r.Item, r.LicenseID, strconv.FormatInt(r.Units, 10), strconv.FormatInt(r.Events, 10),
		strconv.FormatInt(r.LicenseConsumed, 10), r.Session, r.Username, r.Hostname, r.IPAddress, r.ExternalID,
		r.VendorSignature, r.VendorRequest, r.Mark.String(), r.Problem})
	d.w.Flush() // into the bufio.Writer, which batches the writes
	return d.w.Error()
}

func (d *csvDump) end(*export.DumpInfo, error) {}

// jsonDump writes JSON lines: one object per row, with its file and, with
// -key, its check.
type jsonDump struct{ enc *json.Encoder }

type jsonRow struct {
	File string `json:"file"`
	*export.UsageRow
	Check string `json:"check,omitempty"`
}

func (d *jsonDump) row(path string, r *export.UsageRow) error {
	return d.enc.Encode(jsonRow{File: path, UsageRow: r, Check: r.Mark.String()})
}

func (d *jsonDump) end(*export.DumpInfo, error) {}
