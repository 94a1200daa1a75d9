package main

import (
	"fmt"
	"io"
	"time"

	"github.com/meterd/meterd/export"
)

// runVerify checks exports: meterctl verify -key vendor.key [-ledger
// vendor.ledger] [-vendor-pub vendor.sign.pub] usage.db|dir... Each agent's segments are
// checked in chain order, each joining the one before.
func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", "-key FILE [-ledger FILE] [-vendor-pub FILE] usage.db...", stdout, stderr)
	keyPath := fs.String("key", "", "the key `file` shared with the agent (meterctl keygen)")
	ledgerPath := fs.String("ledger", "", "vendor ledger `file`: refuse replayed and forked exports, and record the accepted heads when every file passes")
	pubPath := fs.String("vendor-pub", "", "the vendor's public signing key `file` (meterctl signkey): count the provisions it signed, and warn of each it did not")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	switch {
	case *keyPath == "":
		return fs.badUsage("-key is required")
	case fs.NArg() == 0:
		return fs.badUsage("no usage database given")
	}
	key, ledger, err := loadInputs(*keyPath, *ledgerPath)
	if err != nil {
		return fs.fail(err)
	}
	opts, err := vendorOptions(*pubPath)
	if err != nil {
		return fs.fail(err)
	}
	paths, err := usagePaths(fs.Args())
	if err != nil {
		return fs.fail(err)
	}
	results, err := export.VerifySet(paths, key, opts, ledger)
	if err != nil {
		return fs.fail(err)
	}
	code := exitOK
	for _, r := range results {
		if r.Err != nil {
			code = max(code, fs.fail(r.Err))
			continue
		}
		s := r.Summary
		fmt.Fprintln(stdout, summaryLine(s))
		for _, g := range s.Gaps {
			fmt.Fprintln(stdout, gapLine(s.Path, g))
		}
		if opts.VendorKey != nil {
			printSignatures(stdout, s, opts.VendorKey)
		}
	}
	if code == exitOK && ledger != nil {
		if err := ledger.Save(); err != nil {
			return fs.fail(err)
		}
	}
	return code
}

func summaryLine(s *export.Summary) string {
	seqs := "none"
	if s.Rows > 0 {
		seqs = fmt.Sprintf("%d-%d", s.FirstSeq, s.LastSeq)
	}
	seg := ""
	if s.Segment > 0 {
		period := s.Period
		if period == "" {
			period = "open"
		}
		seg = fmt.Sprintf(" segment=%d period=%s", s.Segment, period)
	}
	return fmt.Sprintf("%s: ok agent=%s level=%s rows=%d seq=%s units=%d key=%s%s",
		s.Path, s.AgentID, s.Level, s.Rows, seqs, s.Units, s.KeyID, seg)
}

// gapLine warns of an unexported row: the file verifies and the units are
// billed, but no action stands behind them.
func gapLine(path string, g export.Gap) string {
	since := "the license's first row"
	if !g.Since.IsZero() {
		since = g.Since.Format(time.RFC3339)
	}
	return fmt.Sprintf("%s: warning: seq %d: %d units of %s %s (license %s) consumed between %s and %s were written "+
		"without their actions (usage database off, or records lost before export); they are billed",
		path, g.Seq, g.Units, g.Owner, g.Item, g.LicenseID, since, g.Until.Format(time.RFC3339))
}
