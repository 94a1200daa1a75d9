package main_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// vendorKeys makes the vendor's signing key in e.dir and a stranger's, and returns the
// private keys and the vendor's public key file.
func (e *env) vendorKeys(t *testing.T) (vendor, stranger ed25519.PrivateKey, pubPath string) {
	t.Helper()
	for _, name := range []string{"vendor.sign", "stranger.sign"} {
		meterctl(t, "signkey", "-o", filepath.Join(e.dir, name)).want(t, 0, "", "")
	}
	var err error
	if vendor, err = export.LoadVendorPrivateKey(filepath.Join(e.dir, "vendor.sign")); err != nil {
		t.Fatal(err)
	}
	if stranger, err = export.LoadVendorPrivateKey(filepath.Join(e.dir, "stranger.sign")); err != nil {
		t.Fatal(err)
	}
	return vendor, stranger, filepath.Join(e.dir, "vendor.sign.pub")
}

// order is the provision of one item of units to owner under ext at WAL seq seq, signed by
// key unless it is nil.
func order(seq uint64, owner, ext string, units int64, key ed25519.PrivateKey) []export.Action {
	// A fraction of a second, which the table leaves out.
	a := export.Action{WALSeq: seq, Time: t0.Add(123456789), Kind: export.Provision, Owner: owner, Item: "PdfPro",
		LicenseID: "lic-" + owner, Units: units, ExternalID: ext}
	if key != nil {
		path := "/" + owner + "/license-transactions"
		body := []byte(fmt.Sprintf(`{"transaction":{"externalId":%q,"items":[{"productId":"p","quantity":%d}]}}`, ext, units))
		a.VendorSignature = export.SignRequest(key, "POST", path, body)
		a.VendorRequest = string(export.SignedRequest("POST", path, body))
	}
	return []export.Action{a}
}

func TestVerifyVendorPub(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vendor, stranger, pub := e.vendorKeys(t)
	db := e.write(t, "a.db", "agent-a", export.Standard,
		order(1, "users/ann", "o-1", 15000, vendor), order(2, "users/ann", "o-2", 100, nil),
		order(3, "users/bob", "o-3", 7, stranger), consumes(4, 2, "users/ann"))
	r := meterctl(t, "verify", "-key", e.key, "-vendor-pub", pub, db)
	r.want(t, 0, db+": ok agent=agent-a", "")
	r.want(t, 0, db+": provisions=3 vendor-signed=1 unsigned=1 bad-signature=1 vendor-key=", "")
	r.want(t, 0, db+": warning: seq 2: provision o-2 (users/ann, 100 units) is not signed by the vendor", "")
	r.want(t, 0, db+": warning: seq 3: provision o-3 (users/bob, 7 units) has a bad vendor signature: it does not verify", "")
	if strings.Contains(r.stdout, "o-1") {
		t.Fatalf("verify warns of the signed provision:\n%s", r.stdout)
	}
	// Without -vendor-pub, nothing is said of signatures.
	if r := meterctl(t, "verify", "-key", e.key, db); r.code != 0 || strings.Contains(r.stdout, "provisions=") {
		t.Fatalf("without -vendor-pub: exit %d\n%s", r.code, r.stdout)
	}
	meterctl(t, "verify", "-key", e.key, "-vendor-pub", filepath.Join(e.dir, "vendor.sign"), db).want(t, 2, "", "holds a private key")
	meterctl(t, "verify", "-key", e.key, "-vendor-pub", filepath.Join(e.dir, "missing.pub"), db).want(t, 2, "", "no such file")
}

func TestReportProvisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vendor, stranger, pub := e.vendorKeys(t)
	a := e.write(t, "a.db", "agent-aaaaaaaa-1", export.Standard,
		order(1, "users/ann", "o-2", 100, nil), order(2, "users/ann", "o-1", 15000, vendor), consumes(3, 2, "users/ann"))
	b := e.write(t, "b.db", "agent-bbbbbbbb-2", export.Detailed,
		order(1, "users/ann", "o-1", 15000, vendor), order(2, "users/bob", "o-3", 7, stranger))
	report := func(args ...string) result {
		return meterctl(t, append([]string{"report", "-key", e.key, "-provisions"}, args...)...)
	}
	ts := t0.Format("2006-01-02T15:04:05Z")
	table := "EXTERNAL_ID  OWNER      ITEMS   UNITS  SIGNATURE      AGENT     TIME\n" +
		"o-1          users/ann  PdfPro  15000  signed         agent-aa  " + ts + "\n" +
		"o-1          users/ann  PdfPro  15000  signed         agent-bb  " + ts + "\n" +
		"o-2          users/ann  PdfPro    100  unsigned       agent-aa  " + ts + "\n" +
		"o-3          users/bob  PdfPro      7  bad signature  agent-bb  " + ts + "\n" +
		"  it does not verify under vendor key " + keyIDOf(t, pub) + "\n"
	if r := report("-vendor-pub", pub, a, b); r.code != 0 || r.stdout != table {
		t.Fatalf("got exit %d\n%s%s\nwant\n%s", r.code, r.stdout, r.stderr, table)
	}
	r := report("-format", "json", a)
	var got struct {
		Provisions []map[string]any `json:"provisions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || len(got.Provisions) != 2 {
		t.Fatalf("json: exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	if p := got.Provisions[0]; p["externalId"] != "o-1" || p["units"] != 15000.0 || p["signature"] != "unchecked" || p["agent"] != "agent-aaaaaaaa-1" {
		t.Fatalf("json without -vendor-pub: %v; want o-1, 15000 units, unchecked", p)
	}
	r = report("-format", "csv", "-vendor-pub", pub, b)
	if lines := strings.Split(r.stdout, "\n"); r.code != 0 || lines[0] != "external_id,owner,items,units,signature,problem,agent,first_seq,time" ||
		!strings.HasPrefix(lines[1], "o-1,users/ann,PdfPro,15000,signed,,agent-bbbbbbbb-2,1,") {
		t.Fatalf("csv: exit %d\n%s", r.code, r.stdout)
	}
	tampered := e.copy(t, a, "tampered.db")
	execSQL(t, tampered, "UPDATE usage SET units = 1 WHERE seq = 1")
	if r := report(tampered); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "seq 1: mac mismatch") {
		t.Fatalf("tampered: exit %d, stdout %q, stderr %q; want 1 and no list", r.code, r.stdout, r.stderr)
	}
	report("-format", "xml", a).want(t, 2, "", `-format "xml"`)
	report(a, a).want(t, 2, "", "same agent")
	meterctl(t, "report", "-key", e.key, "-vendor-pub", pub, a).want(t, 2, "", "-vendor-pub goes with -provisions")
}

func keyIDOf(t *testing.T, pubPath string) string {
	t.Helper()
	pub, err := export.LoadVendorPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	return export.KeyID(pub)
}
