package export_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// provisionItems are the actions of one transaction of n items of license lic, signed by key
// (nil: unsigned), all at WAL seq seq.
func provisionItems(seq uint64, ext, lic string, n int, key ed25519.PrivateKey) []export.Action {
	owner := "organizations/acme"
	items := make([]string, n)
	out := make([]export.Action, n)
	for i := range out {
		items[i] = `{"productId":"p","quantity":10}`
		out[i] = export.Action{WALSeq: seq, Time: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Kind: export.Provision,
			Owner: owner, Item: "Item-" + lic, LicenseID: lic, Units: 10, ExternalID: ext}
	}
	if key != nil {
		path := "/" + owner + "/license-transactions"
		body := []byte(fmt.Sprintf(`{"transaction":{"externalId":%q,"items":[%s]}}`, ext, strings.Join(items, ",")))
		out[0].VendorSignature = export.SignRequest(key, "POST", path, body)
		out[0].VendorRequest = string(export.SignedRequest("POST", path, body))
	}
	return out
}

// At standard level consumption is summed per batch, license, action and day, but each
// provision item keeps a row of its own: its externalId, and the first item's signature, say
// which order it was.
func TestWriteStandardProvisionPerItem(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	var as []export.Action
	as = append(as, provisionItems(1, "order-1", "L1", 2, testVendorKey())...)
	as = append(as, provisionItems(2, "order-2", "L1", 1, nil)...)
	as = append(as, export.Action{WALSeq: 3, Time: as[0].Time, Kind: export.Consume, Owner: "organizations/acme",
		Item: "Item-L1", LicenseID: "L1", Units: 4})
	db := openDB(t, path, export.Standard, testKey(t), agentA)
	if n, err := db.Write(as, 3); err != nil || n != 4 {
		t.Fatalf("Write: %d rows, %v; want 4", n, err)
	}
	db.Close()
	got := strings.Join(queryStrings(t, path, "SELECT seq, action, units, events, license_consumed, coalesce(external_id, '-'), "+
		"vendor_signature IS NOT NULL, vendor_request IS NOT NULL FROM usage ORDER BY seq"), "\n")
	want := strings.Join([]string{
		"1|provision|10|1|0|order-1|1|1",
		"2|provision|10|1|0|order-1|0|0",
		"3|provision|10|1|0|order-2|0|0",
		"4|consume|4|1|4|-|0|0",
	}, "\n")
	if got != want {
		t.Fatalf("rows\n%s\nwant\n%s", got, want)
	}
	stored := queryStrings(t, path, "SELECT vendor_signature || '|' || vendor_request FROM usage WHERE seq = 1")[0]
	if stored != as[0].VendorSignature+"|"+as[0].VendorRequest {
		t.Fatalf("row 1 holds %q, want the signature and request exactly as given", stored)
	}
}

func TestWriteRejectsEvidence(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "usage.db"), export.Detailed, testKey(t), agentA)
	defer db.Close()
	f := func(want string, mutate func(as []export.Action)) {
		t.Helper()
		as := provisionItems(1, "order-1", "L1", 2, testVendorKey())
		as = append(as, export.Action{WALSeq: 2, Time: as[0].Time, Kind: export.Consume, Owner: as[0].Owner,
			Item: as[0].Item, LicenseID: "L1", Units: 1})
		mutate(as)
		_, err := db.Write(as, 2)
		if !errors.Is(err, export.ErrInvalidAction) || !strings.Contains(err.Error(), want) || db.HeadSeq() != 0 {
			t.Fatalf("got %v (head %d), want ErrInvalidAction with %q and nothing written", err, db.HeadSeq(), want)
		}
	}
	f("consume carries provisioning evidence", func(as []export.Action) { as[2].ExternalID = "order-1" })
	f("consume carries provisioning evidence", func(as []export.Action) { as[2].VendorRequest = "x" })
	f("provision without an externalId", func(as []export.Action) { as[1].ExternalID = "" })
	f("signature without its request", func(as []export.Action) { as[0].VendorRequest = "" })
	f("signature without its request", func(as []export.Action) { as[1].VendorRequest = "POST /x\n{}" })
	f("base64 characters", func(as []export.Action) { as[0].VendorSignature = "ed25519=abc" })
}

// TestVerifyVendorSignatures reads the golden file's three provisions (signed by the vendor,
// by no one, by a stranger) with and without the vendor's public key.
func TestVerifyVendorSignatures(t *testing.T) {
	t.Parallel()
	pub := testVendorKey().Public().(ed25519.PublicKey)
	states := func(s *export.Summary) string {
		var b []string
		for _, tx := range s.Transactions {
			b = append(b, fmt.Sprintf("%s %s %s %v %d %s", tx.ExternalID, tx.Owner, tx.Items, tx.Signature, tx.Units, tx.Problem))
		}
		return strings.Join(b, "\n")
	}
	for _, name := range []string{"usage.db", "usage-detailed.db"} {
		path := filepath.Join("testdata", name)
		s, err := export.VerifyWith(path, testKey(t), export.VerifyOptions{VendorKey: pub})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Join([]string{
			"order-9 organizations/acme [PdfPro] signed 3 ",
			"order-19 organizations/acme [OcrKit] unsigned 6 ",
			"order-29 users/bob [PdfPro] bad signature 2 it does not verify under vendor key " + export.KeyID(pub),
		}, "\n")
		if got := states(s); got != want {
			t.Fatalf("%s with the vendor key:\n%s\nwant\n%s", name, got, want)
		}
		if got := s.SignatureCounts(); got != [4]int{export.Unsigned: 1, export.SignatureValid: 1, export.SignatureInvalid: 1} {
			t.Fatalf("%s: counts %v", name, got)
		}
		s, err = export.Verify(path, testKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.SignatureCounts(); got != [4]int{export.Unsigned: 1, export.SignatureUnchecked: 2} {
			t.Fatalf("%s without the vendor key: counts %v, want 1 unsigned and 2 unchecked", name, got)
		}
	}
}

func TestProvisionReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub := testVendorKey().Public().(ed25519.PublicKey)
	path := filepath.Join(dir, "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	write := func(as []export.Action) {
		t.Helper()
		if _, err := db.Write(as, as[len(as)-1].WALSeq); err != nil {
			t.Fatal(err)
		}
	}
	write(provisionItems(1, "b-order", "L1", 2, testVendorKey()))
	write(provisionItems(2, "a-order", "L2", 1, otherVendorKey()))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ledger, err := export.LoadLedger(filepath.Join(dir, "vendor.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	list := func() string {
		t.Helper()
		txs, _, err := export.ProvisionReport([]string{path}, testKey(t), export.ReportOptions{Ledger: ledger, VendorKey: pub})
		if err != nil {
			t.Fatal(err)
		}
		var b []string
		for _, tx := range txs {
			b = append(b, fmt.Sprintf("%s %s rows=%d units=%d %v", tx.ExternalID, tx.AgentID, tx.Rows, tx.Units, tx.Signature))
		}
		return strings.Join(b, "; ")
	}
	want := "a-order " + agentA + " rows=1 units=10 bad signature; b-order " + agentA + " rows=2 units=20 signed"
	if got := list(); got != want {
		t.Fatalf("first report: %s\nwant %s", got, want)
	}
	db = openDB(t, path, export.Detailed, testKey(t), agentA)
	write(provisionItems(3, "c-order", "L1", 1, nil))
	db.Close()
	if got, want := list(), "c-order "+agentA+" rows=1 units=10 unsigned"; got != want {
		t.Fatalf("with the ledger, the second report lists %q, want only the new transaction %q", got, want)
	}
	// Without a vendor key the signatures are listed as unchecked, never as signed.
	txs, _, err := export.ProvisionReport([]string{path}, testKey(t), export.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []export.SignatureState
	for _, tx := range txs {
		got = append(got, tx.Signature)
	}
	if want := []export.SignatureState{export.SignatureUnchecked, export.SignatureUnchecked, export.Unsigned}; !reflect.DeepEqual(got, want) {
		t.Fatalf("without a vendor key: %v, want %v", got, want)
	}
}
