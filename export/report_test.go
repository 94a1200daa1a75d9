package export_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// expectTotals computes report totals straight from actions.
func expectTotals(as []export.Action, by export.Period) []export.Total {
	layout := "2006-01"
	if by == export.ByDay {
		layout = "2006-01-02"
	}
	m := map[[3]string]*export.Total{}
	for _, a := range as {
		if a.Kind != export.Consume && a.Kind != export.Checkout && a.Kind != export.Unexported {
			continue
		}
		k := [3]string{a.Owner, a.Item, a.Time.UTC().Format(layout)}
		if m[k] == nil {
			m[k] = &export.Total{Owner: k[0], Item: k[1], Period: k[2]}
		}
		m[k].Units += a.Units
		if a.Kind != export.Unexported { // how many actions made its units is not known
			m[k].Events++
		}
	}
	var out []export.Total
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b export.Total) int {
		return strings.Compare(a.Owner+"\x00"+a.Item+"\x00"+a.Period, b.Owner+"\x00"+b.Item+"\x00"+b.Period)
	})
	return out
}

func TestReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := testKey(t)
	std, det := filepath.Join(dir, "std.db"), filepath.Join(dir, "det.db")
	as := buildGap(t, std, export.Standard, key, agentA, 7, 9, 11)
	buildGap(t, det, export.Detailed, key, agentB, 7, 9, 11)
	for _, by := range []export.Period{export.ByMonth, export.ByDay} {
		want := expectTotals(as, by)
		for _, path := range []string{std, det} {
			got, err := export.Report([]string{path}, key, by)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s by %s: got %+v, %v; want %+v", filepath.Base(path), by, got, err, want)
			}
		}
	}
	both, err := export.Report([]string{std, det}, key, export.ByMonth)
	if err != nil {
		t.Fatal(err)
	}
	var units int64
	for _, tot := range both {
		units += tot.Units
	}
	if units != 2*billable(as) {
		t.Fatalf("two agents: got %d units, want %d", units, 2*billable(as))
	}
	if first, last := as[0].Time.UTC().Day(), as[len(as)-1].Time.UTC().Day(); first == last {
		t.Fatal("the actions do not cross midnight: -by day is not tested")
	}
}

func TestReportFailsWhole(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	f := func(paths []string, check func(error) bool) {
		t.Helper()
		got, err := export.Report(paths, key, export.ByMonth)
		if got != nil || !check(err) {
			t.Fatalf("%v: got %v, %v; want no totals and the right error", paths, got, err)
		}
	}
	var ve *export.VerifyError
	f([]string{"testdata/usage.db", "testdata/tampered-row-units.db"}, func(err error) bool { return errors.As(err, &ve) && ve.Seq == 9 })
	f([]string{"testdata/usage.db", "testdata/tampered-bytes-in-header.db"}, func(err error) bool { return errors.Is(err, export.ErrNotUsageDB) })
	f([]string{"testdata/usage.db", "testdata/usage.db"}, func(err error) bool { return errors.Is(err, export.ErrSameAgent) })
}

func TestReportWithLedger(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	key := testKey(t)
	l, _ := export.LoadLedger(filepath.Join(t.TempDir(), "l"))
	as := actions(1, 8)
	f := func(paths []string, want []export.Total, wantErr string) {
		t.Helper()
		got, _, err := export.ReportWith(paths, key, export.ReportOptions{By: export.ByDay, Ledger: l})
		if fmt.Sprint(err) != fmt.Sprint(wantErr) && !strings.Contains(fmt.Sprint(err), wantErr) || !slices.Equal(got, want) {
			t.Fatalf("%v: got %+v, %v; want %+v, %q", paths, got, err, want, wantErr)
		}
	}
	f([]string{h.v1}, expectTotals(as[:4], export.ByDay), "<nil>")
	f([]string{h.v2}, expectTotals(as[4:], export.ByDay), "<nil>") // only rows past v1's head
	f([]string{h.fork}, nil, "fork at seq 8")
	f([]string{h.v2}, nil, "replayed")
	if e, _ := l.Head(agentA); e.HeadSeq != 8 {
		t.Fatalf("a failed report moved the head to %d", e.HeadSeq)
	}

	l2, _ := export.LoadLedger(filepath.Join(t.TempDir(), "l2"))
	got, _, err := export.ReportWith([]string{h.v1, h.v2}, key, export.ReportOptions{By: export.ByDay, Ledger: l2})
	if want := expectTotals(as, export.ByDay); err != nil || !slices.Equal(got, want) {
		t.Fatalf("v1 and v2 at once: got %+v, %v; want %+v", got, err, want)
	}
}
