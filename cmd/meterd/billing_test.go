package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/bench/meterctl"
)

// Black-box tests of the bill as a customer who wants it smaller would try: the real meterd,
// stopped and restarted with other flags or files, and the vendor's meterctl reading what it
// wrote. Each ends with the units billed or the agent refusing to start; never a file that
// verifies and bills less than was granted.

// consumeUnits asks for units one at a time and fails unless each is granted.
func (p *proc) consumeUnits(n int) {
	p.t.Helper()
	for range n {
		st, out, err := request(http.DefaultClient, "POST", p.Base+"/v1/consume", "", "",
			map[string]any{"owner": "organizations/o", "item": "Item", "units": 1})
		if err != nil || st != 200 {
			p.t.Fatalf("consume: %d %v %v", st, out, err)
		}
	}
}

// vendorReads verifies the data directory's usage database with meterctl and returns what
// verify printed and the units the report bills.
func vendorReads(t *testing.T, data string) (string, int64) {
	t.Helper()
	key, db := filepath.Join(data, "usage.key"), filepath.Join(data, "usage.db")
	out, err := meterctl.Run(meterctlBin, "verify", "-key", key, db)
	if err != nil {
		t.Fatal(err)
	}
	billed, err := meterctl.Billed(meterctlBin, key, db)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), billed["Item"]
}

func TestProcessUsageDatabaseOffIsBilled(t *testing.T) {
	data := t.TempDir()
	p := startMeterd(t, data)
	p.provision(1000)
	p.consumeUnits(5)
	p.stop(syscall.SIGTERM)

	p = startMeterd(t, data, "-usage-database", "off")
	p.consumeUnits(300)
	p.stop(syscall.SIGTERM)

	p = startMeterd(t, data)
	p.consumeUnits(1)
	p.stop(syscall.SIGTERM)
	if !strings.Contains(p.log.String(), "written as unexported rows") {
		t.Errorf("the agent did not log the unexported rows:\n%s", p.log.String())
	}

	verify, units := vendorReads(t, data)
	if units != 306 {
		t.Fatalf("billed %d, want 306; verify said:\n%s", units, verify)
	}
	if !strings.Contains(verify, ": warning: seq ") || !strings.Contains(verify, " 300 units of organizations/o Item") {
		t.Fatalf("verify did not warn of the 300 unexported units:\n%s", verify)
	}
}

func TestProcessUsageDatabaseRolledBack(t *testing.T) {
	data := t.TempDir()
	db := filepath.Join(data, "usage.db")
	p := startMeterd(t, data)
	p.provision(1000)
	p.consumeUnits(5)
	p.stop(syscall.SIGTERM)
	old := readAll(t, db)

	p = startMeterd(t, data)
	p.consumeUnits(10)
	p.stop(syscall.SIGTERM)
	current := readAll(t, db)

	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tryStart(t, data); err == nil || !strings.Contains(err.Error(), "older copy") {
		t.Fatalf("start with an older copy of the usage database: %v; want a refusal that says so", err)
	}
	if err := os.WriteFile(db, current, 0o600); err != nil {
		t.Fatal(err)
	}
	startMeterd(t, data).stop(syscall.SIGTERM)
	if _, units := vendorReads(t, data); units != 15 {
		t.Fatalf("billed %d, want 15", units)
	}
}

// Far dates read back as the same instant; a credit that starts in 2600 grants nothing today;
// an order that would take a license past 2^53 units is refused whole.
func TestProcessDatesAndTotals(t *testing.T) {
	data := t.TempDir()
	p := startMeterd(t, data)
	defer p.stop(syscall.SIGTERM)
	p.mustAdmin("PUT", "/products/p", map[string]any{"licensedItem": "Item",
		"trackingMode": "TRACK_BY_CALLER_CONSUMPTION_COUNT", "creditAmount": 1_000_000})
	now := time.Now().UTC()
	item := func(qty int, from, until string) map[string]any {
		return map[string]any{"productId": "p", "quantity": qty, "licenseValidFrom": from, "licenseValidUntil": until}
	}
	tx := p.mustAdmin("POST", "/organizations/o/license-transactions", map[string]any{"transaction": map[string]any{
		"externalId": "far", "items": []any{
			item(1, "2600-01-01T00:00:00Z", "5000-01-01T00:00:00Z"),
			item(2, now.Add(-time.Hour).Format(time.RFC3339), "9999-12-31T23:59:59.999999999Z")}}})
	lic := tx["transaction"].(map[string]any)["items"].([]any)[0].(map[string]any)["licenses"].([]any)[0].(map[string]any)
	id := lic["id"].(string)
	st, view, err := request(http.DefaultClient, "GET", p.Base+"/v1/licenses/"+id, "", "", nil)
	if err != nil || st != 200 {
		t.Fatalf("get license: %d %v", st, err)
	}
	credits := view["useCountCredits"].([]any)
	c0, c1 := credits[0].(map[string]any), credits[1].(map[string]any)
	if c0["validFrom"] != "2600-01-01T00:00:00Z" || c0["validUntil"] != "5000-01-01T00:00:00Z" ||
		c1["validUntil"] != "9999-12-31T23:59:59.999999999Z" || c0["active"] != false {
		t.Fatalf("credits read back as %v", credits)
	}
	st, out, _ := request(http.DefaultClient, "POST", p.Base+"/v1/consume", "", "",
		map[string]any{"license": id, "units": 2_000_001})
	if st != 409 || out["remaining"] != float64(2_000_000) {
		t.Fatalf("consume more than the active credit: %d %v; want 409 with the 2026 credit's 2000000 remaining", st, out)
	}

	big := make([]any, 10) // 10^16 units: past 2^53
	for i := range big {
		big[i] = map[string]any{"productId": "p", "quantity": 1_000_000_000}
	}
	st, out, _ = request(http.DefaultClient, "POST", p.Base+"/organizations/o/license-transactions", p.token(), "",
		map[string]any{"transaction": map[string]any{"externalId": "too-many", "items": big}})
	if msg, _ := out["message"].(string); st != 400 || !strings.Contains(msg, "over the most one license may hold") {
		t.Fatalf("order past 2^53: %d %.300v; want 400 naming the bound", st, out)
	}
	_, view, _ = request(http.DefaultClient, "GET", p.Base+"/v1/licenses/"+id, "", "", nil)
	if view["useCountTotal"] != float64(3_000_000) {
		t.Fatalf("total %v after a refused order, want 3000000", view["useCountTotal"])
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
