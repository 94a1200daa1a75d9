package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/bench/meterctl"
)

// Black-box tests of "only the vendor mints units": the real meterd with
// -vendor-public-key-file, keys made and requests signed by the real meterctl, and every
// provisioning request the vendor did not sign sent as a customer holding the admin token
// would. None may change anything: not the licenses, not the log, not the usage database.

// signer is the vendor's side: a key pair made by meterctl signkey in dir.
type signer struct {
	t        *testing.T
	dir, key string
}

func newSigner(t *testing.T, name string) *signer {
	t.Helper()
	s := &signer{t: t, dir: t.TempDir()}
	s.key = filepath.Join(s.dir, name)
	if _, err := meterctl.Run(meterctlBin, "signkey", "-o", s.key); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *signer) pub() string { return s.key + ".pub" }

// sign has meterctl sign body, written to a file, for method and path.
func (s *signer) sign(method, path string, body []byte) string {
	s.t.Helper()
	f, err := os.CreateTemp(s.dir, "body-*.json")
	if err != nil {
		s.t.Fatal(err)
	}
	f.Write(body)
	f.Close()
	out, err := meterctl.Run(meterctlBin, "sign", "-key", s.key, "-method", method, "-path", path, f.Name())
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// send sends body as it is, with the admin token and sig as Meterd-Signature (none if "").
func (p *proc) send(method, path string, body []byte, sig string) (int, map[string]any) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.Base+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token())
	if sig != "" {
		req.Header.Set("Meterd-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		p.t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// licenses is GET /{owner}/licenses as raw JSON.
func (p *proc) licenses(owner string) string {
	p.t.Helper()
	st, out, err := request(http.DefaultClient, "GET", p.Base+"/"+owner+"/licenses", p.token(), "", nil)
	if err != nil || st != 200 {
		p.t.Fatalf("licenses of %s: %d %v %v", owner, st, out, err)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func orderJSON(ext string, quantity int) []byte {
	now := time.Now().UTC()
	return fmt.Appendf(nil, `{"transaction":{"type":"Order","externalId":%q,"items":[{"productId":"p","quantity":%d,`+
		`"licenseValidFrom":%q,"licenseValidUntil":%q}]}}`, ext, quantity,
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339))
}

const productJSON = `{"licensedItem":"Item","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","creditAmount":1}`

func TestProcessOnlyVendorSignedProvisioning(t *testing.T) {
	vendor, stranger := newSigner(t, "vendor.sign"), newSigner(t, "stranger.sign")
	data := t.TempDir()
	p := startMeterd(t, data, "-vendor-public-key-file", vendor.pub())
	if !strings.Contains(p.log.String(), "provisioning takes only what the vendor signed") {
		t.Errorf("start-up did not say that provisioning needs the vendor's signature:\n%s", p.log.String())
	}
	const txPath = "/organizations/o/license-transactions"
	if st, out := p.send("PUT", "/products/p", []byte(productJSON), vendor.sign("PUT", "/products/p", []byte(productJSON))); st != 200 {
		t.Fatalf("signed product: %d %v", st, out)
	}
	first := orderJSON("o-1", 1000)
	firstSig := vendor.sign("POST", txPath, first)
	st, firstAnswer := p.send("POST", txPath, first, firstSig)
	if st != 200 {
		t.Fatalf("signed order: %d %v", st, firstAnswer)
	}
	st, again := p.send("POST", txPath, first, firstSig)
	if a, b := fmt.Sprint(firstAnswer), fmt.Sprint(again); st != 200 || a != b {
		t.Fatalf("the signed order sent twice: %d\n%s\nwant the first answer\n%s", st, b, a)
	}
	p.consumeUnits(1)
	seqBefore := p.lastSeq()
	licensesBefore := p.licenses("organizations/o")

	order := orderJSON("o-2", 1_000_000_000) // a billion units the vendor never sold
	changed := bytes.Replace(order, []byte(`"quantity":1000000000`), []byte(`"quantity":9000000000`), 1)
	cheap := []byte(strings.Replace(productJSON, `"creditAmount":1`, `"creditAmount":9`, 1))
	refusals := []struct {
		name, method, path string
		body               []byte
		sig                string
	}{
		{"missing", "POST", txPath, order, ""},
		{"malformed", "POST", txPath, order, "ed25519=not-base64"},
		{"wrong key", "POST", txPath, order, stranger.sign("POST", txPath, order)},
		{"signed for another owner", "POST", txPath, order, vendor.sign("POST", "/organizations/other/license-transactions", order)},
		{"replayed to another owner", "POST", "/users/mallory/license-transactions", first, firstSig},
		{"signed for another method", "POST", txPath, order, vendor.sign("PUT", txPath, order)},
		{"a byte of the body changed", "POST", txPath, changed, vendor.sign("POST", txPath, order)},
		{"product unsigned", "PUT", "/products/p", cheap, ""},
		{"product with another body's signature", "PUT", "/products/p", cheap, vendor.sign("PUT", "/products/p", []byte(productJSON))},
		{"product signed by a stranger", "PUT", "/products/p", cheap, stranger.sign("PUT", "/products/p", cheap)},
	}
	for _, r := range refusals {
		st, out := p.send(r.method, r.path, r.body, r.sig)
		if st != 403 || out["error"] != "bad_signature" || out["message"] == "" {
			t.Errorf("%s: %d %v; want 403 bad_signature with a message", r.name, st, out)
		}
	}
	if got := p.licenses("organizations/o"); got != licensesBefore {
		t.Fatalf("licenses changed across refused requests:\nbefore %s\nafter  %s", licensesBefore, got)
	}
	if got := p.licenses("users/mallory"); got != `{"licenses":[]}` {
		t.Fatalf("users/mallory after a replayed order: %s", got)
	}
	if seq := p.lastSeq(); seq != seqBefore+1 {
		t.Fatalf("the log went from seq %d to %d across refused requests: they wrote records", seqBefore, seq)
	}
	// Still free: the refused order's externalId, for the vendor's own order.
	own := orderJSON("o-2", 5)
	if st, out := p.send("POST", txPath, own, vendor.sign("POST", txPath, own)); st != 200 {
		t.Fatalf("the vendor's order under a refused externalId: %d %v", st, out)
	}
	p.stop(syscall.SIGTERM)

	// What the vendor reads: every provision signed, none unsigned, the refused ones nowhere.
	key, db := filepath.Join(data, "usage.key"), filepath.Join(data, "usage.db")
	out, err := meterctl.Run(meterctlBin, "verify", "-key", key, "-vendor-pub", vendor.pub(), db)
	if err != nil || !strings.Contains(string(out), "provisions=2 vendor-signed=2 unsigned=0 bad-signature=0") {
		t.Fatalf("verify -vendor-pub: %v\n%s", err, out)
	}
	list, err := meterctl.Run(meterctlBin, "report", "-key", key, "-provisions", "-vendor-pub", vendor.pub(), "-format", "csv", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "o-1,organizations/o,Item,1000,signed,") ||
		!strings.HasPrefix(lines[2], "o-2,organizations/o,Item,5,signed,") {
		t.Fatalf("report -provisions:\n%s\nwant o-1 (1000 units) and o-2 (5 units), both signed", list)
	}
	if billed, err := meterctl.Billed(meterctlBin, key, db); err != nil || billed["Item"] != 3 {
		t.Fatalf("billed %v, %v; want the 3 units consumed", billed, err)
	}
}

// lastSeq is the seq of a fresh decision: one unit consumed, so the caller accounts for it.
func (p *proc) lastSeq() uint64 {
	p.t.Helper()
	st, out, err := request(http.DefaultClient, "POST", p.Base+"/v1/consume", "", "",
		map[string]any{"owner": "organizations/o", "item": "Item", "units": 1})
	if err != nil || st != 200 {
		p.t.Fatalf("consume: %d %v %v", st, out, err)
	}
	return uint64(out["seq"].(float64))
}

func TestProcessVendorKeyFileRefused(t *testing.T) {
	dir := t.TempDir()
	f := func(name, content string, mode os.FileMode, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		_, err := tryStart(t, t.TempDir(), "-vendor-public-key-file", path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v; want meterd to refuse to start, naming %s with %q", name, err, path, want)
		}
	}
	vendor := newSigner(t, "vendor.sign")
	priv, err := os.ReadFile(vendor.key)
	if err != nil {
		t.Fatal(err)
	}
	f("short.pub", "abcd\n", 0o644, "64 hex digits")
	f("private.pub", string(priv), 0o600, "holds a private key")
	f("open.pub", strings.Repeat("ab", 32), 0o666, "chmod go-w")
	if _, err := tryStart(t, t.TempDir(), "-vendor-public-key-file", filepath.Join(dir, "missing.pub")); err == nil ||
		!strings.Contains(err.Error(), "missing.pub: no such file") {
		t.Fatalf("missing key file: %v; want a refusal naming it", err)
	}
}
