package core_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/export"
)

// vendor holds the vendor's signing key; its public half is at pub, for VENDOR_PUBLIC_KEY_FILE.
type vendor struct {
	key ed25519.PrivateKey
	pub string
}

func newVendor(t *testing.T) *vendor {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vendor.sign")
	if _, err := export.GenerateVendorKey(path); err != nil {
		t.Fatal(err)
	}
	key, err := export.LoadVendorPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return &vendor{key: key, pub: export.PublicKeyPath(path)}
}

// signed is c with the Meterd-Signature that key makes over method, path and c's body.
func signed(key ed25519.PrivateKey, method, path string, c call) call {
	c.header = map[string]string{core.SignatureHeader: export.SignRequest(key, method, path, []byte(c.body))}
	return c
}

// sign is c signed by the vendor for its own method and path.
func (v *vendor) sign(c call) call { return signed(v.key, c.method, c.path, c) }

func stranger(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

const pdfProBody = `{"name":"PdfPro","licensedItem":"PdfPro","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","creditAmount":1}`

// signedAgent starts an agent that takes only what v signs, with the PdfPro product and the
// 10Duke order (15,000 units) in place, both signed; it returns the license and the order.
func signedAgent(t *testing.T, v *vendor) (*agent, string, call) {
	t.Helper()
	cfg := newTestConfig(t)
	cfg.VendorPublicKeyFile = v.pub
	a := startAgent(t, cfg, noOpts())
	if st := a.do(v.sign(call{method: "PUT", path: "/products/" + pdfProID, body: pdfProBody, admin: true}), nil); st != 200 {
		t.Fatalf("signed product: %d", st)
	}
	var tx txView
	req := v.sign(call{method: "POST", path: "/" + orgOwner + "/license-transactions", admin: true,
		body: orderBody(extID, pdfProID, 15000, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))})
	if st := a.do(req, &tx); st != 200 {
		t.Fatalf("signed order: %d %s", st, tx.Error)
	}
	return a, tx.Transaction.Items[0].Licenses[0].ID, req
}

// TestSignatureRefusals sends provisioning requests the vendor did not sign, each in its own
// way, and checks that each is refused with 403 bad_signature and that nothing changed: the
// licenses and product read back the same, the externalIds are still free, and the log holds
// no record of them (the next decision's seq follows the last one's).
func TestSignatureRefusals(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	a, lic, first := signedAgent(t, v)
	unsignedFirst := first
	unsignedFirst.header = nil
	seq := func() uint64 {
		t.Helper()
		st, ans := a.consume(`{"license":"`+lic+`","units":1}`, nil)
		if st != 200 {
			t.Fatalf("consume: %d %+v", st, ans)
		}
		return ans.Seq
	}
	txPath := "/" + orgOwner + "/license-transactions"
	now := time.Now()
	body := orderBody("refused-1", pdfProID, 1000, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	order := call{method: "POST", path: txPath, body: body, admin: true}
	changed := order
	changed.body = strings.Replace(body, `"quantity":1000`, `"quantity":9000`, 1)
	product := call{method: "PUT", path: "/products/" + pdfProID, body: strings.Replace(pdfProBody, `"creditAmount":1`, `"creditAmount":9`, 1), admin: true}
	newProduct := call{method: "PUT", path: "/products/cheap", body: pdfProBody, admin: true}
	with := func(c call, sig string) call {
		c.header = map[string]string{core.SignatureHeader: sig}
		return c
	}
	to := func(c call, path string) call { c.path = path; return c }
	valid := v.sign(order).header[core.SignatureHeader]

	before := seq()
	licensesBefore := a.ownerLicenses(orgOwner)
	cases := []struct {
		name string
		c    call
		want string
	}{
		{"missing", order, "header is missing"},
		{"empty", with(order, ""), "header is missing"},
		{"malformed", with(order, "ed25519=abc"), "base64 characters"},
		{"not base64", with(order, "ed25519="+strings.Repeat("*", 86)+"=="), "not padded standard base64"},
		{"no scheme", with(order, strings.TrimPrefix(valid, "ed25519=")), "does not start with ed25519="},
		{"unpadded", with(order, strings.TrimRight(valid, "=")), "base64 characters"},
		{"wrong key", signed(stranger(t), "POST", txPath, order), "does not verify"},
		{"signed for another owner's path", signed(v.key, "POST", "/organizations/other/license-transactions", order), "does not verify"},
		{"replayed to another owner's path", to(v.sign(order), "/users/mallory/license-transactions"), "for POST /users/mallory/license-transactions"},
		{"replayed to the other owner kind", to(v.sign(order), "/organizations/mallory/license-transactions"), "does not verify"},
		{"signed for another method", signed(v.key, "PUT", txPath, order), "does not verify"},
		{"a byte of the body changed", with(changed, valid), "does not verify"},
		{"a space added to the body", with(call{method: "POST", path: txPath, body: body + " ", admin: true}, valid), "does not verify"},
		{"the signed order resent unsigned", unsignedFirst, "header is missing"},
		{"the signed order resent to another owner", to(first, "/users/mallory/license-transactions"), "does not verify"},
		{"product unsigned", product, "header is missing"},
		{"product with another body's signature", with(product, v.sign(call{method: "PUT", path: "/products/" + pdfProID, body: pdfProBody}).header[core.SignatureHeader]), "does not verify"},
		{"product signed for another product", to(v.sign(newProduct), "/products/"+pdfProID), "does not verify"},
		{"new product signed by a stranger", signed(stranger(t), "PUT", "/products/cheap", newProduct), "does not verify"},
	}
	for _, tc := range cases {
		var e answer
		if st := a.do(tc.c, &e); st != 403 || e.Error != "bad_signature" || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s: %d %+v; want 403 bad_signature saying %q", tc.name, st, e, tc.want)
		}
		// The answer describes the header; it never quotes it back.
		if sig := strings.TrimPrefix(tc.c.header[core.SignatureHeader], "ed25519="); len(sig) >= 16 && strings.Contains(e.Message, sig[:16]) {
			t.Errorf("%s: the answer quotes the Meterd-Signature header: %s", tc.name, e.Message)
		}
	}
	if got := a.ownerLicenses(orgOwner); !jsonEqual(t, got, licensesBefore) {
		t.Fatalf("licenses changed across refused requests:\nbefore %s\nafter  %s", licensesBefore, got)
	}
	if after := seq(); after != before+1 {
		t.Fatalf("the log moved from seq %d to %d across refused requests: they wrote records", before, after)
	}
	for _, owner := range []string{"users/mallory", "organizations/mallory", "organizations/other"} {
		if got := string(a.ownerLicenses(owner)); got != `{"licenses":[]}` {
			t.Errorf("%s holds %s after refused orders", owner, got)
		}
	}
	var p map[string]any
	if st := a.do(call{method: "GET", path: "/products/" + pdfProID, admin: true}, &p); st != 200 || p["creditAmount"] != 1.0 {
		t.Errorf("product after refused changes: %d %v; want creditAmount 1", st, p)
	}
	if st := a.do(call{method: "GET", path: "/products/cheap", admin: true}, nil); st != 404 {
		t.Errorf("a product signed by a stranger exists: %d", st)
	}
	// No refused request reserved its externalId: the vendor's own order under it goes through.
	var tx txView
	if st := a.do(v.sign(changed), &tx); st != 200 || tx.Transaction.Items[0].Licenses[0].UseCountTotal != 24000 {
		t.Fatalf("the vendor's order under the refused externalId: %d %+v", st, tx)
	}
}

// TestSignedOrderTwice: the vendor's order sent twice, signature and all, answers the same and
// provisions once, before and after a restart; the evidence is in the usage database with the
// exact bytes the agent checked.
func TestSignedOrderTwice(t *testing.T) {
	t.Parallel()
	v := newVendor(t)
	a, lic, _ := signedAgent(t, v)
	now := time.Now()
	order := v.sign(call{method: "POST", path: "/users/ann/license-transactions", admin: true,
		body: orderBody("ann-1", pdfProID, 50, now.Add(-time.Hour), now.AddDate(1, 0, 0))})
	st1, first := a.raw(order)
	st2, again := a.raw(order)
	if st1 != 200 || st2 != 200 || !jsonEqual(t, first, again) {
		t.Fatalf("twice: %d %s\n%d %s", st1, first, st2, again)
	}
	a.restart()
	if st, third := a.raw(order); st != 200 || !jsonEqual(t, first, third) {
		t.Fatalf("after a restart: %d %s, want the first answer", st, third)
	}
	var ls struct {
		Licenses []licenseView `json:"licenses"`
	}
	if err := json.Unmarshal(a.ownerLicenses("users/ann"), &ls); err != nil || len(ls.Licenses) != 1 ||
		ls.Licenses[0].UseCountTotal != 50 || len(ls.Licenses[0].UseCountCredits) != 1 {
		t.Fatalf("users/ann after the order three times: %+v %v; want one credit of 50", ls, err)
	}
	if l := a.license(lic); l.UseCountTotal != 15000 {
		t.Fatalf("PdfPro license: %+v", l)
	}
	a.stop()
	if n := stateKeys(t, a.cfg, "v/"); n != 2 { // the evidence is kept with each transaction
		t.Fatalf("%d transactions' vendor evidence in the state store, want 2", n)
	}
	pub, err := export.LoadVendorPublicKey(v.pub)
	if err != nil {
		t.Fatal(err)
	}
	s, err := export.VerifyWith(usageDBPath(a.cfg), readUsageKey(t, a.cfg), export.VerifyOptions{VendorKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tx := range s.Transactions {
		got = append(got, fmt.Sprintf("%s %s %d %v", tx.ExternalID, tx.Owner, tx.Units, tx.Signature))
	}
	if want := []string{extID + " " + orgOwner + " 15000 signed", "ann-1 users/ann 50 signed"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("usage database provisions %v, want %v", got, want)
	}
	rows := queryUsage(t, usageDBPath(a.cfg), "SELECT vendor_request FROM usage WHERE external_id = 'ann-1'")
	if want := "POST /users/ann/license-transactions\n" + order.body; len(rows) != 1 || rows[0] != want {
		t.Fatalf("vendor_request %q, want the exact bytes checked %q", rows, want)
	}
}

// Without VENDOR_PUBLIC_KEY_FILE the agent behaves as it always has: a signature header, good
// or not, is neither checked nor kept.
func TestNoVendorKey(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	if st := a.do(call{method: "PUT", path: "/products/" + pdfProID, body: pdfProBody, admin: true,
		header: map[string]string{core.SignatureHeader: "garbage"}}, nil); st != 200 {
		t.Fatalf("product with a garbage signature and no vendor key: %d", st)
	}
	now := time.Now()
	var tx txView
	if st := a.do(call{method: "POST", path: "/" + orgOwner + "/license-transactions", admin: true,
		body: orderBody(extID, pdfProID, 10, now.Add(-time.Hour), now.AddDate(1, 0, 0))}, &tx); st != 200 {
		t.Fatalf("unsigned order, no vendor key: %d %s", st, tx.Error)
	}
	a.stop()
	if n := stateKeys(t, a.cfg, "v/"); n != 0 {
		t.Fatalf("%d transactions' vendor evidence in the state store, want none", n)
	}
	s, err := export.Verify(usageDBPath(a.cfg), readUsageKey(t, a.cfg))
	if err != nil || len(s.Transactions) != 1 || s.Transactions[0].Signature != export.Unsigned {
		t.Fatalf("usage database: %v %+v; want one unsigned provision", err, s)
	}
}

func TestVendorKeyFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v := newVendor(t)
	pubHex, _ := os.ReadFile(v.pub)
	f := func(name, content string, mode os.FileMode, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if content != "" {
			os.WriteFile(path, []byte(content), 0o600)
			os.Chmod(path, mode)
		}
		cfg := newTestConfig(t)
		cfg.VendorPublicKeyFile = path
		e, err := core.Open(cfg, noOpts())
		if want == "" {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			e.Close()
			return
		}
		if err == nil {
			e.Close()
		}
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: got %v, want a refusal naming %s with %q", name, err, path, want)
		}
	}
	f("trimmed", "\n  "+strings.TrimSpace(string(pubHex))+"  \n\n", 0o644, "")
	f("missing", "", 0, "no such file")
	f("short", strings.TrimSpace(string(pubHex))[:60], 0o644, "64 hex digits")
	f("not-hex", strings.Repeat("g", 64), 0o644, "64 hex digits")
	f("private", hex.EncodeToString(v.key), 0o600, "holds a private key")
	f("writable", string(pubHex), 0o666, "chmod go-w")
	if _, err := core.Open(func() config.Config {
		cfg := newTestConfig(t)
		cfg.VendorPublicKeyFile = filepath.Join(dir, "missing")
		return cfg
	}(), noOpts()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing key file: %v, want os.ErrNotExist in the chain", err)
	}
}

// ownerLicenses is the raw answer of GET /{owner}/licenses.
func (a *agent) ownerLicenses(owner string) []byte {
	a.t.Helper()
	st, b := a.raw(call{method: "GET", path: "/" + owner + "/licenses", admin: true})
	if st != 200 {
		a.t.Fatalf("licenses of %s: %d %s", owner, st, b)
	}
	return b
}

func readUsageKey(t *testing.T, cfg config.Config) []byte {
	t.Helper()
	key, err := export.LoadKey(cfg.UsageKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// queryUsage returns the first column of each row a query of the usage database returns.
func queryUsage(t *testing.T, path, query string) []string {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []string
	err = sqlitex.ExecuteTransient(conn, query, &sqlitex.ExecOptions{ResultFunc: func(stmt *sqlite.Stmt) error {
		out = append(out, stmt.ColumnText(0))
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
