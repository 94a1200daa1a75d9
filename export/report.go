package export

import (
	"cmp"
	"crypto/ed25519"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Period is the time unit of report totals.
type Period uint8

const (
	ByMonth Period = iota // "2026-12"
	ByDay                 // "2026-12-01"
)

// ParsePeriod parses "month" or "day".
func ParsePeriod(s string) (Period, error) {
	switch s {
	case "month":
		return ByMonth, nil
	case "day":
		return ByDay, nil
	}
	return 0, fmt.Errorf("export: unknown period %q (want month or day)", s)
}

func (p Period) String() string {
	if p == ByDay {
		return "day"
	}
	return "month"
}

// Total is the billable use of one item by one owner in one period:
// consume, checkout and unexported units, and the events behind them
// (unexported rows add units but no events: how many actions made them is
// not known).
type Total struct {
	Owner  string `json:"owner"`
	Item   string `json:"item"`
	Period string `json:"period"`
	Units  int64  `json:"units"`
	Events int64  `json:"events"`
}

// ReportOptions configure ReportWith and ProvisionReport.
type ReportOptions struct {
	By Period
	// Ledger, if set, must accept every file (see Ledger.Check), and only
	// rows past each agent's accepted head count, so that successive
	// exports of a growing database bill each row once. On success the
	// ledger has accepted the files (Save keeps that); on failure it is
	// unchanged.
	Ledger *Ledger
	// VendorKey, if set, checks the vendor signatures ProvisionReport
	// lists (see VerifyOptions).
	VendorKey ed25519.PublicKey
}

// Report verifies every file, then totals billable units and events per
// owner, item and UTC period, sorted by owner, item and period.
// Any file that fails verification fails the report, with no totals.
func Report(paths []string, key []byte, by Period) ([]Total, error) {
	totals, _, err := ReportWith(paths, key, ReportOptions{By: by})
	return totals, err
}

type totalKey struct{ owner, item, period string }

type totals map[totalKey]*Total

// add adds units and events to k's total, reporting false on overflow.
func (ts totals) add(k totalKey, units, events int64) bool {
	t := ts[k]
	if t == nil {
		t = &Total{Owner: k.owner, Item: k.item, Period: k.period}
		ts[k] = t
	}
	if units > math.MaxInt64-t.Units || events > math.MaxInt64-t.Events {
		return false
	}
	t.Units += units
	t.Events += events
	return true
}

// ReportWith is Report with options; it also returns the files' summaries.
// Without a ledger, two exports of one agent are refused (ErrSameAgent):
// their common rows would count twice.
func ReportWith(paths []string, key []byte, opts ReportOptions) ([]Total, []*Summary, error) {
	all := totals{}
	sums, err := eachFile(paths, opts.Ledger, func(path string, ledger *Ledger, trail *chainTrail) (*Summary, error) {
		return reportFile(all, path, key, opts.By, ledger, trail)
	})
	if err != nil {
		return nil, nil, err
	}
	return sortTotals(all), sums, nil
}

// ProvisionReport verifies every file and lists its provisioning transactions with what their
// vendor signatures show (checked with opts.VendorKey when set), sorted by externalId, agent
// and first row, so that the vendor can match each against its own orders: an externalId the
// vendor never sold, units it did not order, or one order on two agents shows at a glance.
// With a ledger, only transactions past each agent's accepted head are listed.
func ProvisionReport(paths []string, key []byte, opts ReportOptions) ([]Transaction, []*Summary, error) {
	var out []Transaction
	sums, err := eachFile(paths, opts.Ledger, func(path string, ledger *Ledger, trail *chainTrail) (*Summary, error) {
		s, err := verifyIn(path, key, VerifyOptions{VendorKey: opts.VendorKey}, nil, trail)
		if err != nil {
			return nil, err
		}
		since, err := accept(ledger, s)
		if err != nil {
			return nil, err
		}
		for _, t := range s.Transactions {
			if t.FirstSeq > since {
				out = append(out, t)
			}
		}
		return s, nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(out, func(a, b Transaction) int {
		return cmp.Or(strings.Compare(a.ExternalID, b.ExternalID), strings.Compare(a.AgentID, b.AgentID), cmp.Compare(a.FirstSeq, b.FirstSeq))
	})
	return out, sums, nil
}

// eachFile runs one report's work on every file, each agent's segments in chain order (see
// walkChains), against a copy of the ledger that replaces the caller's only when every file
// passed; the first file that fails fails the report. Without a ledger, two whole-chain exports
// of one agent are refused (ErrSameAgent).
func eachFile(paths []string, orig *Ledger, do func(path string, ledger *Ledger, trail *chainTrail) (*Summary, error)) ([]*Summary, error) {
	var ledger *Ledger
	if orig != nil {
		ledger = orig.clone()
	}
	results, err := walkChains(paths, ledger, func(path string, trail *chainTrail) (*Summary, error) {
		return do(path, ledger, trail)
	})
	if err != nil {
		return nil, err
	}
	sums := make([]*Summary, 0, len(results))
	for _, r := range results {
		if r.Err != nil {
			return nil, r.Err
		}
		sums = append(sums, r.Summary)
	}
	if ledger != nil {
		orig.agents = ledger.agents
	}
	return sums, nil
}

// accept has the ledger (if any) check and accept a verified file, and returns the seq
// through which the ledger had already accepted the agent's rows.
func accept(ledger *Ledger, s *Summary) (since int64, err error) {
	if ledger == nil {
		return 0, nil
	}
	e, _ := ledger.Head(s.AgentID)
	if err := ledger.Check(s); err != nil {
		return 0, err
	}
	ledger.Accept(s)
	return e.HeadSeq, nil
}

// reportFile verifies one file and adds its rows to all, after the ledger
// (if any) accepted it. It bills from the licenses' counters: a row is
// billed what it moved its license's license_consumed, so a unit is billed
// once whether its own row or an unexported row carries it. (Verify has
// checked that the move equals the row's units; the counters are what
// stays true if that rule is ever relaxed.)
func reportFile(all totals, path string, key []byte, by Period, ledger *Ledger, trail *chainTrail) (*Summary, error) {
	mine := totals{}
	var counters map[string]int64
	since, overflow := int64(0), false
	s, err := verifyIn(path, key, VerifyOptions{}, func(s *Summary, r *row) {
		if counters == nil {
			counters = trail.counters(s)
			if ledger != nil {
				e, _ := ledger.Head(s.AgentID)
				since = e.HeadSeq
			}
		}
		id := r[colLicenseID].s
		moved := r[colLicenseConsumed].i - counters[id]
		counters[id] = r[colLicenseConsumed].i
		kind, _ := parseKind(r[colAction].s)
		if r[colSeq].i <= since || !kind.billable() {
			return
		}
		t, _ := parseTime(r[colTime].s)
		period := t.Format("2006-01")
		if by == ByDay {
			period = t.Format("2006-01-02")
		}
		overflow = overflow || !mine.add(totalKey{r[colOwner].s, r[colItem].s, period}, moved, r[colEvents].i)
	}, trail)
	if err != nil {
		return nil, err
	}
	if _, err := accept(ledger, s); err != nil {
		return nil, err
	}
	for k, t := range mine {
		overflow = overflow || !all.add(k, t.Units, t.Events)
	}
	if overflow {
		return nil, fmt.Errorf("export: report %s: totals overflow int64", path)
	}
	return s, nil
}

func sortTotals(all totals) []Total {
	out := make([]Total, 0, len(all))
	for _, t := range all {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int {
		return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.Item, b.Item), strings.Compare(a.Period, b.Period))
	})
	return out
}
