package export

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A forger who holds the usage key can write any row; what the vendor's key still tells is
// whether the vendor signed the provision the row claims. These tests forge the evidence
// columns and check what Verify says of the file, and what the vendor key says of the
// transaction.

var forgeVendor = func() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("forge vendor"))
	return ed25519.NewKeyFromSeed(seed[:])
}()

// forgeSigned is a chain holding a vendor-signed transaction "order-1" of two items for
// organizations/acme (rows 1 and 2), an unsigned "order-2" (row 3) and a consume (row 4).
func forgeSigned(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := Open(Options{Path: path, Key: forgeKey, Level: Standard, AgentID: "agent-forge"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	prov := func(seq uint64, ext string) Action {
		return Action{WALSeq: seq, Time: at, Kind: Provision, Owner: "organizations/acme", Item: "Item",
			LicenseID: "lic-A", Units: 10, ExternalID: ext}
	}
	body := []byte(`{"transaction":{"externalId":"order-1","items":[{"productId":"p","quantity":10},{"productId":"p","quantity":10}]}}`)
	first := prov(1, "order-1")
	first.VendorSignature = SignRequest(forgeVendor, "POST", "/organizations/acme/license-transactions", body)
	first.VendorRequest = string(SignedRequest("POST", "/organizations/acme/license-transactions", body))
	as := []Action{first, prov(1, "order-1"), prov(2, "order-2"),
		{WALSeq: 3, Time: at, Kind: Consume, Owner: "organizations/acme", Item: "Item", LicenseID: "lic-A", Units: 1}}
	if _, err := db.Write(as, 3); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestForgedEvidence(t *testing.T) {
	t.Parallel()
	base := forgeSigned(t)
	pub := forgeVendor.Public().(ed25519.PublicKey)
	// refused: the file fails Verify at row seq.
	refused := func(name, edit string, seq int64, reason string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "usage.db")
		copyTo(t, base, path)
		forge(t, path, edit)
		_, err := VerifyWith(path, forgeKey, VerifyOptions{VendorKey: pub})
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Seq != seq || !strings.Contains(ve.Reason, reason) {
			t.Fatalf("%s: got %v, want seq %d: ...%s...", name, err, seq, reason)
		}
	}
	refused("consume-external_id", "UPDATE usage SET external_id = 'order-1' WHERE seq = 4", 4, "external_id in a consume row")
	refused("consume-signature", "UPDATE usage SET vendor_signature = (SELECT vendor_signature FROM usage WHERE seq = 1), "+
		"vendor_request = (SELECT vendor_request FROM usage WHERE seq = 1) WHERE seq = 4", 4, "vendor_signature in a consume row")
	refused("provision-no-external_id", "UPDATE usage SET external_id = NULL WHERE seq = 3", 3, "external_id of a provision is not text")
	refused("provision-external_id-blob", "UPDATE usage SET external_id = CAST(external_id AS BLOB) WHERE seq = 3", 3, "external_id of a provision is not text")
	refused("signature-without-request", "UPDATE usage SET vendor_request = NULL WHERE seq = 1", 1, "not both text")
	refused("signature-blob", "UPDATE usage SET vendor_signature = CAST(vendor_signature AS BLOB) WHERE seq = 1", 1, "not both text")
	refused("signature-malformed", "UPDATE usage SET vendor_signature = 'ed25519=' || substr(vendor_signature, 10) WHERE seq = 1", 1, "vendor_signature: want 88 base64")
	refused("provision-aggregated", "UPDATE usage SET events = 2 WHERE seq = 3", 3, "events 2 in a provision row")

	// passed: the file verifies, and the vendor key tells what the transaction is worth.
	passed := func(name, edit, ext string, want SignatureState, problem string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "usage.db")
		copyTo(t, base, path)
		forge(t, path, edit)
		s, err := VerifyWith(path, forgeKey, VerifyOptions{VendorKey: pub})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, tx := range s.Transactions {
			if tx.ExternalID != ext {
				continue
			}
			if tx.Signature != want || !strings.Contains(tx.Problem, problem) {
				t.Fatalf("%s: %s is %v (%s), want %v (%s)", name, ext, tx.Signature, tx.Problem, want, problem)
			}
			return
		}
		t.Fatalf("%s: no transaction %s in %+v", name, ext, s.Transactions)
	}
	passed("pristine", "", "order-1", SignatureValid, "")
	passed("pristine-unsigned", "", "order-2", Unsigned, "")
	passed("signature-moved-to-other-order", "UPDATE usage SET vendor_signature = (SELECT vendor_signature FROM usage WHERE seq = 1), "+
		"vendor_request = (SELECT vendor_request FROM usage WHERE seq = 1) WHERE seq = 3", "order-2", SignatureInvalid, `signed for externalId "order-1"`)
	passed("rows-moved-to-other-owner", "UPDATE usage SET owner = 'organizations/evil' WHERE seq <= 2", "order-1", SignatureInvalid,
		`signed for "POST /organizations/acme/license-transactions", not POST /organizations/evil/license-transactions`)
	passed("item-added-under-signed-order", "UPDATE usage SET external_id = 'order-1' WHERE seq = 3", "order-1", SignatureInvalid,
		"the signed order has 2 items, the file 3 rows")
	passed("item-removed-from-signed-order", "UPDATE usage SET external_id = 'order-3' WHERE seq = 2", "order-1", SignatureInvalid,
		"the signed order has 2 items, the file 1 rows")
	passed("request-edited", "UPDATE usage SET vendor_request = replace(vendor_request, 'quantity\":10', 'quantity\":99') WHERE seq = 1",
		"order-1", SignatureInvalid, "does not verify")
	passed("signed-twice", "UPDATE usage SET vendor_signature = (SELECT vendor_signature FROM usage WHERE seq = 1), "+
		"vendor_request = (SELECT vendor_request FROM usage WHERE seq = 1) WHERE seq = 2", "order-1", SignatureInvalid, "a second signature at seq 2")
	passed("split-owners", "UPDATE usage SET owner = 'users/u' WHERE seq = 2", "order-1", SignatureInvalid,
		"rows of two owners, organizations/acme and users/u")
	// A stranger's key over the very same request: the bytes are right, the signer is not.
	stranger := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	body := `{"transaction":{"externalId":"order-2","items":[{"productId":"p","quantity":10}]}}`
	passed("stranger-signed", fmt.Sprintf("UPDATE usage SET vendor_signature = '%s', vendor_request = '%s' WHERE seq = 3",
		SignRequest(stranger, "POST", "/organizations/acme/license-transactions", []byte(body)),
		SignedRequest("POST", "/organizations/acme/license-transactions", []byte(body))), "order-2", SignatureInvalid, "does not verify under vendor key")
}
