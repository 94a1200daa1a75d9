package export

import (
	"cmp"
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

// ReportOptions configure ReportWith.
type ReportOptions struct {
	By Period
	// Ledger, if set, must accept every file (see Ledger.Check), and only
	// rows past each agent's accepted head count, so that successive
	// exports of a growing database bill each row once. On success the
	// ledger has accepted the files (Save keeps that); on failure it is
	// unchanged.
	Ledger *Ledger
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
	var ledger *Ledger
	if opts.Ledger != nil {
		ledger = opts.Ledger.clone()
	}
	seen := map[string]string{}
	var sums []*Summary
	for _, path := range paths {
		s, err := reportFile(all, path, key, opts.By, ledger)
		if err != nil {
			return nil, nil, err
		}
		if other, dup := seen[s.AgentID]; dup && ledger == nil {
			return nil, nil, fmt.Errorf("%w: %s and %s (agent %s); report the newest, or use a ledger", ErrSameAgent, other, path, s.AgentID)
		}
		seen[s.AgentID] = path
		sums = append(sums, s)
	}
	if ledger != nil {
		opts.Ledger.agents = ledger.agents
	}
	return sortTotals(all), sums, nil
}

// reportFile verifies one file and adds its rows to all, after the ledger
// (if any) accepted it. It bills from the licenses' counters: a row is
// billed what it moved its license's license_consumed, so a unit is billed
// once whether its own row or an unexported row carries it. (Verify has
// checked that the move equals the row's units; the counters are what
// stays true if that rule is ever relaxed.)
func reportFile(all totals, path string, key []byte, by Period, ledger *Ledger) (*Summary, error) {
	mine := totals{}
	counters := map[string]int64{}
	since, sinceSet, overflow := int64(0), false, false
	s, err := verify(path, key, func(s *Summary, r *row) {
		if !sinceSet && ledger != nil {
			e, _ := ledger.Head(s.AgentID)
			since, sinceSet = e.HeadSeq, true
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
	})
	if err != nil {
		return nil, err
	}
	if ledger != nil {
		if err := ledger.Check(s); err != nil {
			return nil, err
		}
		ledger.Accept(s)
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
