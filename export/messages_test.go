package export_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// What the vendor's tools print is all an operator has to go on: these
// tests pin the messages whose wording says what is wrong.

// A state a newer file format might add must print as a number, not panic
// a report that meets it.
func TestSignatureStateNamesAnUnknownState(t *testing.T) {
	t.Parallel()
	for s, want := range map[export.SignatureState]string{export.Unsigned: "unsigned", export.SignatureInvalid: "bad signature",
		export.SignatureInvalid + 1: "SignatureState(4)"} {
		if got := s.String(); got != want {
			t.Errorf("SignatureState(%d).String() = %q, want %q", uint8(s), got, want)
		}
	}
}

// `meterctl verify DIR` names the mistake plainly.
func TestVerifyOfADirectorySaysSo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := export.Verify(dir, testKey(t))
	if want := "export: " + dir + ": is a directory"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// A file of another kind (here a CSV longer than an SQLite header) is no
// usage database, and the message says it is not SQLite at all.
func TestVerifyOfANonSQLiteFileSaysSo(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("owner,item,units\n"), 300), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := export.Verify(path, testKey(t))
	if want := "export: not a usage database: " + path + ": not an SQLite file"; !errors.Is(err, export.ErrNotUsageDB) || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// SQLite's detail after its generic message (here which schema object is
// malformed) reaches the reason.
func TestVerifyKeepsSQLitesDetail(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	build(t, path, export.Standard, testKey(t), agentA, 3)
	execSQL(t, path, "PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql = 'CREATE TABLE usage(' WHERE name = 'usage'")
	_, err := export.Verify(path, testKey(t))
	var ve *export.VerifyError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "malformed database schema (usage)") {
		t.Fatalf("got %v, want a reason naming the malformed schema of usage", err)
	}
}

// An externalId of exactly the quoting limit (120 bytes) is quoted whole,
// without the ellipsis that marks a cut.
func TestProvisionProblemQuotesAnExternalIDAtTheLimitWhole(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Standard, testKey(t), agentA)
	signedExt := strings.Repeat("x", 120)
	owner := "organizations/acme"
	body := []byte(`{"transaction":{"externalId":"` + signedExt + `","items":[{"productId":"p","quantity":1}]}}`)
	a := export.Action{WALSeq: 1, Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Kind: export.Provision,
		Owner: owner, Item: "PdfPro", LicenseID: "lic-1", Units: 10, ExternalID: "order-1",
		VendorSignature: export.SignRequest(testVendorKey(), "POST", "/"+owner+"/license-transactions", body),
		VendorRequest:   string(export.SignedRequest("POST", "/"+owner+"/license-transactions", body))}
	if _, err := db.Write([]export.Action{a}, 1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := export.VerifyWith(path, testKey(t), export.VerifyOptions{VendorKey: testVendorKey().Public().(ed25519.PublicKey)})
	if err != nil || len(s.Transactions) != 1 {
		t.Fatalf("verify: %+v, %v", s, err)
	}
	want := `signed for externalId "` + signedExt + `"`
	if p := s.Transactions[0]; p.Signature != export.SignatureInvalid || p.Problem != want {
		t.Fatalf("got %v: %s; want bad signature: %s", p.Signature, p.Problem, want)
	}
}
