package main

import (
	"fmt"
	"io"
	"time"

	"github.com/meterd/meterd/export"
)

// runVerify checks exports: meterctl verify -key vendor.key [-ledger
// vendor.ledger] [-vendor-pub vendor.sign.pub] usage.db...
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
	code := exitOK
	for _, path := range fs.Args() {
		s, err := verifyOne(path, key, opts, ledger)
		if err != nil {
			code = max(code, fs.fail(err))
			continue
		}
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

// verifyOne verifies path and, with a ledger, checks and accepts it there
// (in memory; the caller saves), so later files of the same agent in this
// run must continue it.
func verifyOne(path string, key []byte, opts export.VerifyOptions, ledger *export.Ledger) (*export.Summary, error) {
	s, err := export.VerifyWith(path, key, opts)
	if err != nil || ledger == nil {
		return s, err
	}
	if err := ledger.Check(s); err != nil {
		return nil, err
	}
	ledger.Accept(s)
	return s, nil
}

func summaryLine(s *export.Summary) string {
	seqs := "none"
	if s.Rows > 0 {
		seqs = fmt.Sprintf("%d-%d", s.FirstSeq, s.LastSeq)
	}
	return fmt.Sprintf("%s: ok agent=%s level=%s rows=%d seq=%s units=%d key=%s",
		s.Path, s.AgentID, s.Level, s.Rows, seqs, s.Units, s.KeyID)
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
