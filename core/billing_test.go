package core_test

import (
	"errors"
	"maps"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/export"
)

// The tests here play a customer who wants a smaller bill: each ends with the units billed,
// the file failing verification, or the agent refusing to start. Never a file that verifies
// and bills less than was granted.

const (
	billOwner   = "organizations/acme"
	billProduct = "7a195f0b-459b-4c60-ba5e-7a3d53133e28"
)

// testClock is an injected wall clock that the test sets.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := new(testClock)
	c.set(t)
	return c
}

func (c *testClock) set(t time.Time)    { c.ns.Store(t.UnixNano()) }
func (c *testClock) now() time.Time     { return time.Unix(0, c.ns.Load()) }
func (c *testClock) opts() core.Options { return core.Options{Clock: c.now} }

func openEngine(t *testing.T, cfg config.Config, opts core.Options) *core.Engine {
	t.Helper()
	e, err := core.Open(cfg, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return e
}

func closeEngine(t *testing.T, e *core.Engine) {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// orderPdfPro defines the caller-count product and orders quantity units valid in
// [from, until); it returns the license id.
func orderPdfPro(t *testing.T, e *core.Engine, externalID string, quantity int64, from, until time.Time) string {
	t.Helper()
	if _, err := e.PutProduct(billProduct, core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	tx, err := e.Provision(billOwner, orderOf(externalID, billProduct, quantity, from, until), core.Signed{})
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	return tx.Items[0].License.ID
}

// consumeN takes n units one request at a time and fails the test unless each is granted.
func consumeN(t *testing.T, e *core.Engine, n int) {
	t.Helper()
	for range n {
		req := core.ConsumeRequest{Owner: billOwner, Item: "PdfPro", Units: 1}
		var ans core.Answer
		if err := e.Consume(&req, &ans); err != nil || !ans.Granted {
			t.Fatalf("consume: %+v, %v", ans, err)
		}
	}
}

// billed verifies the usage database and returns its summary and the units the report bills.
func billed(t *testing.T, cfg config.Config) (*export.Summary, int64) {
	t.Helper()
	key, err := export.LoadKey(cfg.UsageKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	s, err := export.Verify(cfg.UsageDatabasePath(), key)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	totals, err := export.Report([]string{cfg.UsageDatabasePath()}, key, export.ByMonth)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var units int64
	for _, tot := range totals {
		units += tot.Units
	}
	return s, units
}

// Consume 5 with the usage database on, 300 with it off, 1 with it on again: the 300 are billed,
// as one unexported row that verify warns of.
func TestUsageDatabaseOffIsBilled(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	now := time.Now()
	e := openEngine(t, cfg, noOpts())
	lic := orderPdfPro(t, e, "order-1", 1000, now.Add(-time.Hour), now.Add(time.Hour))
	consumeN(t, e, 5)
	closeEngine(t, e)

	off := cfg
	off.UsageDatabase = config.UsageOff
	e = openEngine(t, off, noOpts())
	consumeN(t, e, 300)
	closeEngine(t, e) // checkpoints and truncates the log: the 300 have no records left to export

	e = openEngine(t, cfg, noOpts())
	consumeN(t, e, 1)
	closeEngine(t, e)

	s, units := billed(t, cfg)
	if units != 306 || s.Units != 306 {
		t.Fatalf("billed %d (verify says %d), want 306", units, s.Units)
	}
	if len(s.Gaps) != 1 || s.Gaps[0].Units != 300 || s.Gaps[0].LicenseID != lic {
		t.Fatalf("unexported rows %+v, want one of 300 units of %s", s.Gaps, lic)
	}
}

// An agent that never had a usage database, then gets one: everything consumed before is billed.
func TestUsageDatabaseNewAfterOffIsBilled(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	off := cfg
	off.UsageDatabase = config.UsageOff
	now := time.Now()
	e := openEngine(t, off, noOpts())
	orderPdfPro(t, e, "order-1", 1000, now.Add(-time.Hour), now.Add(time.Hour))
	consumeN(t, e, 7)
	closeEngine(t, e)
	e = openEngine(t, cfg, noOpts())
	closeEngine(t, e)
	if s, units := billed(t, cfg); units != 7 || len(s.Gaps) != 1 {
		t.Fatalf("billed %d with %d unexported rows, want 7 in one", units, len(s.Gaps))
	}
}

// A usage database put back to an older copy while the agent is stopped: the agent refuses to
// start and says so; with the newer file back, it starts and bills everything.
func TestUsageDatabaseRolledBackRefused(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	now := time.Now()
	e := openEngine(t, cfg, noOpts())
	orderPdfPro(t, e, "order-1", 1000, now.Add(-time.Hour), now.Add(time.Hour))
	consumeN(t, e, 5)
	closeEngine(t, e)
	old := readFile(t, cfg.UsageDatabasePath())

	e = openEngine(t, cfg, noOpts())
	consumeN(t, e, 40)
	closeEngine(t, e)
	current := readFile(t, cfg.UsageDatabasePath())

	writeFile(t, cfg.UsageDatabasePath(), old)
	_, err := core.Open(cfg, noOpts())
	if err == nil || !strings.Contains(err.Error(), "older copy") || !strings.Contains(err.Error(), cfg.UsageDatabasePath()) {
		t.Fatalf("open with an older copy: got %v, want a refusal naming the file", err)
	}
	writeFile(t, cfg.UsageDatabasePath(), current)
	e = openEngine(t, cfg, noOpts())
	closeEngine(t, e)
	if _, units := billed(t, cfg); units != 45 {
		t.Fatalf("billed %d, want 45", units)
	}
}

// Setting the clock back neither revives an expired credit, nor after a restart, nor
// back-dates a row; the step is counted.
func TestClockSetBack(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := newTestClock(t0)
	e := openEngine(t, cfg, clk.opts())
	orderPdfPro(t, e, "order-1", 1000, t0.Add(-time.Hour), t0.Add(time.Hour))
	consumeN(t, e, 2)
	deny := func(e *core.Engine, want string) {
		t.Helper()
		req := core.ConsumeRequest{Owner: billOwner, Item: "PdfPro", Units: 1}
		var ans core.Answer
		if err := e.Consume(&req, &ans); err != nil || ans.Granted || ans.Outcome.String() != want {
			t.Fatalf("consume: %+v, %v; want a denial, %s", ans, err, want)
		}
	}
	clk.set(t0.Add(2 * time.Hour)) // the credit expired
	deny(e, "expired")
	clk.set(t0) // the customer sets the clock back
	deny(e, "expired")
	if n := metricValue(t, e, "meterd_clock_steps_back_total"); n != 1 {
		t.Fatalf("meterd_clock_steps_back_total = %v, want 1", n)
	}
	closeEngine(t, e)

	e = openEngine(t, cfg, clk.opts()) // restarted with the clock still set back
	deny(e, "expired")
	if n := metricValue(t, e, "meterd_clock_steps_back_total"); n != 1 {
		t.Fatalf("after restart: meterd_clock_steps_back_total = %v, want 1 (the step found at start-up)", n)
	}
	closeEngine(t, e)

	// An idle run with the clock right again: nothing is decided, yet its time is kept, and a
	// later start with the clock behind it finds the step.
	clk.set(t0.Add(3 * time.Hour))
	closeEngine(t, openEngine(t, cfg, clk.opts()))
	clk.set(t0.Add(150 * time.Minute))
	e = openEngine(t, cfg, clk.opts())
	if n := metricValue(t, e, "meterd_clock_steps_back_total"); n != 1 {
		t.Fatalf("after an idle run: meterd_clock_steps_back_total = %v, want 1", n)
	}
	closeEngine(t, e)
	if _, units := billed(t, cfg); units != 2 {
		t.Fatalf("billed %d, want 2", units)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Dates from year 1 to 9999 are kept as the same instant, live, in the transaction's answer
// and after a restart; a credit that starts in 2600 does not grant today.
func TestFarDatesExact(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	e := openEngine(t, cfg, noOpts())
	if _, err := e.PutProduct(billProduct, core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	date := func(s string) time.Time {
		d, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	windows := [][2]time.Time{
		{date("2600-01-01T00:00:00Z"), date("5000-01-01T00:00:00Z")},
		{date("2026-01-01T00:00:00+02:00"), date("9999-12-31T23:59:59.999999999Z")},
		{date("0001-01-01T00:00:00Z"), date("1000-06-15T12:00:00.5Z")},
	}
	order := core.Order{ExternalID: "far"}
	for i := range windows {
		order.Items = append(order.Items, core.OrderItem{ProductID: billProduct, Quantity: 10,
			ValidFrom: &windows[i][0], ValidUntil: &windows[i][1]})
	}
	tx, err := e.Provision(billOwner, order, core.Signed{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(where string, l core.LicenseView) {
		t.Helper()
		if len(l.Credits) != len(windows) {
			t.Fatalf("%s: %d credits", where, len(l.Credits))
		}
		for i, c := range l.Credits {
			if !c.Window.From.Equal(windows[i][0]) || !c.Window.Until.Equal(windows[i][1]) || c.Window.Open {
				t.Fatalf("%s: credit %d holds %+v, want [%s, %s)", where, i, c.Window, windows[i][0], windows[i][1])
			}
		}
		if span, ok := l.Span(); !ok || !span.From.Equal(windows[2][0]) || !span.Until.Equal(windows[1][1]) {
			t.Fatalf("%s: license spans %+v", where, span)
		}
	}
	check("transaction answer", tx.Items[2].License)
	id := tx.Items[0].License.ID
	req := core.ConsumeRequest{License: id, Units: 11} // more than the one active credit holds
	var ans core.Answer
	if err := e.Consume(&req, &ans); err != nil || ans.Granted || ans.Remaining != 10 {
		t.Fatalf("consume 11: %+v, %v; want a denial with 10 remaining (only the 2026 credit is active)", ans, err)
	}
	check("live", engineLicense(t, e, id))
	closeEngine(t, e)
	e = openEngine(t, cfg, noOpts())
	defer closeEngine(t, e)
	check("after restart", engineLicense(t, e, id))
}

func engineLicense(t *testing.T, e *core.Engine, id string) core.LicenseView {
	t.Helper()
	l, err := e.License(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A license's total stays below 2^53: an order that would pass it is refused whole, reserves
// nothing, and its externalId stays free.
func TestLicenseTotalBound(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	e := openEngine(t, cfg, noOpts())
	defer closeEngine(t, e)
	million := int64(1_000_000)
	if _, err := e.PutProduct(billProduct, core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount,
		CreditAmount: &million}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	order := func(ext string, items int, quantity int64) error {
		o := core.Order{ExternalID: ext}
		for range items {
			o.Items = append(o.Items, core.OrderItem{ProductID: billProduct, Quantity: quantity})
		}
		_, err := e.Provision(billOwner, o, core.Signed{})
		return err
	}
	if err := order("big", 9, 1_000_000_000); err != nil { // 9 × 10^15, under 2^53 ≈ 9.007 × 10^15
		t.Fatal(err)
	}
	err := order("more", 1, 10_000_000) // 10^13 more passes 2^53
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "over the most one license may hold") {
		t.Fatalf("got %v, want ErrInvalid naming the bound", err)
	}
	if err := order("wrap", 10, 1_000_000_000); !errors.Is(err, core.ErrInvalid) { // on a new owner's behalf too
		t.Fatalf("one order past 2^53: got %v", err)
	}
	l := engineLicense(t, e, licenseOf(t, e))
	if l.Total() != 9_000_000_000_000_000 || len(l.Credits) != 9 {
		t.Fatalf("total %d in %d credits after refused orders, want 9e15 in 9", l.Total(), len(l.Credits))
	}
	if err := order("more", 1, 1); err != nil { // the refused externalId was not reserved
		t.Fatal(err)
	}
}

func licenseOf(t *testing.T, e *core.Engine) string {
	t.Helper()
	ls, err := e.OwnerLicenses(billOwner)
	if err != nil || len(ls) != 1 {
		t.Fatalf("licenses %+v: %v", ls, err)
	}
	return ls[0].ID
}

// A crash while the usage database is off, with records in the log past the last checkpoint,
// then a start with it on: what the checkpoint holds is billed as an unexported row that stands
// just before the first record after it, and those records as actions on the day they were
// decided: each unit once. (The WAL is on Pebble's crash filesystem; the usage database is
// created after the crash, so it is not on it.)
func TestCrashPastCheckpointWithUsageDatabaseOff(t *testing.T) {
	t.Parallel()
	mem := vfs.NewCrashableMem()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clk := newTestClock(t0)
	cfg := newTestConfig(t)
	off := cfg
	off.UsageDatabase = config.UsageOff
	e := openEngine(t, off, core.Options{FS: mem, Clock: clk.now})
	checkpointed := make(chan struct{}, 1)
	core.SetHookAfterCheckpoint(e, func() {
		select {
		case checkpointed <- struct{}{}:
		default:
		}
	})
	orderPdfPro(t, e, "order-1", 1000, t0.Add(-time.Hour), t0.AddDate(0, 1, 0))
	consumeN(t, e, 5)
	for drained := false; !drained; { // a checkpoint that began before the 5 may not hold them
		select {
		case <-checkpointed:
		default:
			drained = true
		}
	}
	select {
	case <-checkpointed: // the applier checkpoints within a second of new records
	case <-time.After(time.Minute):
		t.Fatal("no checkpoint after the first consumes")
	}
	t1 := t0.Add(13 * time.Hour) // the next day, UTC
	clk.set(t1)
	// Sync durability: each of the 10 is in the log, past the checkpoint. The crash image keeps
	// what was synced and nothing else.
	consumeN(t, e, 10)
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	closeEngine(t, e)

	clk.set(t1.Add(48 * time.Hour))
	e = openEngine(t, cfg, core.Options{FS: crashed, Clock: clk.now})
	consumeN(t, e, 1)
	closeEngine(t, e)
	s, units := billed(t, cfg)
	if units != 16 || s.Units != 16 {
		t.Fatalf("billed %d (verify says %d), want the 16 granted", units, s.Units)
	}
	if len(s.Gaps) != 1 || s.Gaps[0].Units != 5 || !s.Gaps[0].Until.Equal(t1) {
		t.Fatalf("unexported rows %+v, want one of the 5 the checkpoint held, until %v", s.Gaps, t1)
	}
	key, err := export.LoadKey(cfg.UsageKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	totals, err := export.Report([]string{cfg.UsageDatabasePath()}, key, export.ByDay)
	if err != nil {
		t.Fatal(err)
	}
	byDay := map[string]int64{}
	for _, tot := range totals {
		byDay[tot.Period] += tot.Units
	}
	if want := map[string]int64{"2026-12-01": 15, "2026-12-03": 1}; !maps.Equal(byDay, want) {
		t.Fatalf("billed by day %v, want %v", byDay, want)
	}
}
