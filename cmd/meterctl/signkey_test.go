package main_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

func TestSignkey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vendor.sign")
	r := meterctl(t, "signkey", "-o", path)
	r.want(t, 0, path+": new signing key ", "")
	r.want(t, 0, path+".pub: its public key", "")
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(path); m != 0o600 {
		t.Fatalf("private key mode %04o, want 0600", m)
	}
	pub, _ := os.ReadFile(path + ".pub")
	if s := strings.TrimSpace(string(pub)); len(s) != 64 || !isHex(s) {
		t.Fatalf("public key file holds %q, want 64 hex digits", pub)
	}
	key, err := export.LoadVendorPublicKey(path + ".pub")
	if err != nil || !strings.Contains(r.stdout, export.KeyID(key)) {
		t.Fatalf("the key id printed is not the public key's (%v):\n%s", err, r.stdout)
	}
	before, _ := os.ReadFile(path)
	meterctl(t, "signkey", "-o", path).want(t, 1, "", "already exists")
	after, _ := os.ReadFile(path)
	pubAfter, _ := os.ReadFile(path + ".pub")
	if string(after) != string(before) || string(pubAfter) != string(pub) {
		t.Fatal("signkey overwrote an existing key")
	}
	meterctl(t, "signkey").want(t, 2, "", "-o is required")
	meterctl(t, "signkey", "-o", path+"2", "extra").want(t, 2, "", `unexpected argument "extra"`)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
