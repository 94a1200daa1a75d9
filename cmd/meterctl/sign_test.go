package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

func TestSign(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "vendor.sign")
	meterctl(t, "signkey", "-o", key).want(t, 0, "", "")
	pub, err := export.LoadVendorPublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	order := filepath.Join(dir, "order.json")
	body := []byte("{\"transaction\": {\"externalId\": \"o-1\", \"items\": []}}\n") // the newline is signed too
	os.WriteFile(order, body, 0o644)
	const path = "/organizations/acme/license-transactions"

	r := meterctl(t, "sign", "-key", key, "-method", "POST", "-path", path, order)
	r.want(t, 0, "ed25519=", "")
	sig := strings.TrimSuffix(r.stdout, "\n")
	if err := export.CheckSignature(pub, sig, export.SignedRequest("POST", path, body)); err != nil {
		t.Fatalf("%q does not verify over the file's bytes: %v", sig, err)
	}
	if err := export.CheckSignature(pub, sig, export.SignedRequest("POST", path, body[:len(body)-1])); err == nil {
		t.Fatal("the signature verifies without the file's last byte")
	}
	if err := export.CheckSignature(pub, sig, export.SignedRequest("POST", "/users/acme/license-transactions", body)); err == nil {
		t.Fatal("the signature verifies for another path")
	}
	cmd := []string{"sign", "-key", key, "-method", "POST", "-path", path, "-"}
	if r := meterctlStdin(t, body, cmd...); r.code != 0 || r.stdout != sig+"\n" {
		t.Fatalf("from standard input: exit %d %q %s; want the same signature", r.code, r.stdout, r.stderr)
	}

	sign := func(args ...string) result { return meterctl(t, append([]string{"sign"}, args...)...) }
	sign("-method", "POST", "-path", path, order).want(t, 2, "", "-key is required")
	sign("-key", key, "-method", "post", "-path", path, order).want(t, 2, "", `-method "post"`)
	sign("-key", key, "-path", path, order).want(t, 2, "", `-method ""`)
	sign("-key", key, "-method", "POST", "-path", "organizations/acme", order).want(t, 2, "", "starting with /")
	sign("-key", key, "-method", "POST", "-path", path+"?x=1", order).want(t, 2, "", "the path alone")
	sign("-key", key, "-method", "POST", "-path", path).want(t, 2, "", "want one file")
	sign("-key", key, "-method", "POST", "-path", path, filepath.Join(dir, "missing.json")).want(t, 2, "", "no such file")
	pubOnly := filepath.Join(dir, "pub-as-private")
	pubText, _ := os.ReadFile(key + ".pub")
	os.WriteFile(pubOnly, pubText, 0o600)
	sign("-key", pubOnly, "-method", "POST", "-path", path, order).want(t, 2, "", "128 hex digits")
	os.Chmod(key, 0o644)
	sign("-key", key, "-method", "POST", "-path", path, order).want(t, 2, "", "chmod 600")
}
