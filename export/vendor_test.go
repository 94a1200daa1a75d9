package export_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

func TestGenerateVendorKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vendor.sign")
	pub, err := export.GenerateVendorKey(path)
	if err != nil {
		t.Fatal(err)
	}
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m, pm := mode(path), mode(path+".pub"); m != 0o600 || pm != 0o644 {
		t.Fatalf("modes %04o and %04o, want 0600 for the private key and 0644 for the public one", m, pm)
	}
	b, _ := os.ReadFile(path + ".pub")
	if string(b) != hex.EncodeToString(pub)+"\n" || len(b) != 65 {
		t.Fatalf("public key file holds %q, want 64 hex digits and a newline", b)
	}
	priv, err := export.LoadVendorPrivateKey(path)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("LoadVendorPrivateKey: %v, or not the public key's half", err)
	}
	loaded, err := export.LoadVendorPublicKey(path + ".pub")
	if err != nil || !loaded.Equal(pub) {
		t.Fatalf("LoadVendorPublicKey: got %x, %v; want %x", loaded, err, pub)
	}

	before, _ := os.ReadFile(path)
	if _, err := export.GenerateVendorKey(path); err == nil {
		t.Fatal("a second GenerateVendorKey over the same files succeeded")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a second GenerateVendorKey changed the private key")
	}
	// Only the public file there: refused before the private one is made.
	other := filepath.Join(t.TempDir(), "other.sign")
	os.WriteFile(other+".pub", []byte("keep me\n"), 0o644)
	if _, err := export.GenerateVendorKey(other); err == nil || !strings.Contains(err.Error(), other+".pub") {
		t.Fatalf("GenerateVendorKey with its .pub there: %v, want a refusal naming it", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused GenerateVendorKey left a private key: %v", err)
	}
	if b, _ := os.ReadFile(other + ".pub"); string(b) != "keep me\n" {
		t.Fatalf("the refused GenerateVendorKey changed the .pub file: %q", b)
	}
}

func TestLoadVendorPublicKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub := testVendorKey().Public().(ed25519.PublicKey)
	i := 0
	f := func(content string, mode os.FileMode, wantErr string) {
		t.Helper()
		i++
		path := filepath.Join(dir, "k"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		got, err := export.LoadVendorPublicKey(path)
		switch {
		case wantErr == "" && (err != nil || !got.Equal(pub)):
			t.Fatalf("%q: got %x, %v; want the key", content, got, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("%q mode %04o: got %v, want an error naming %s with %q", content, mode, err, path, wantErr)
		}
	}
	h := hex.EncodeToString(pub)
	f(h, 0o644, "")
	f("  \n"+h+"\r\n\t", 0o444, "")
	f(strings.ToUpper(h), 0o600, "")
	f(h[:62], 0o644, "got 62 characters")
	f(h+"00", 0o644, "got 66 characters")
	f(strings.Repeat("zz", 32), 0o644, "64 hex digits")
	f(hex.EncodeToString(testVendorKey()), 0o644, "holds a private key")
	f(h, 0o664, "lets group or others write it")
	f(h, 0o646, "lets group or others write it")
	if _, err := export.LoadVendorPublicKey(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: got %v, want os.ErrNotExist", err)
	}
}

func TestLoadVendorPrivateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(content string, mode os.FileMode, wantErr string) {
		t.Helper()
		path := filepath.Join(dir, "vendor.sign")
		os.Remove(path)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		_, err := export.LoadVendorPrivateKey(path)
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Fatalf("%.20q mode %04o: got %v, want %q", content, mode, err, wantErr)
		}
	}
	priv := hex.EncodeToString(testVendorKey())
	f(priv+"\n", 0o600, "")
	f(priv, 0o640, "lets group or others read it; chmod 600")
	f(priv, 0o604, "chmod 600")
	f(priv[:64], 0o600, "128 hex digits")
	otherPub := hex.EncodeToString(otherVendorKey().Public().(ed25519.PublicKey))
	f(priv[:64]+otherPub, 0o600, "does not belong")
}

func TestParseSignature(t *testing.T) {
	t.Parallel()
	sig := ed25519.Sign(testVendorKey(), []byte("x"))
	good := export.FormatSignature(sig)
	if !strings.HasPrefix(good, "ed25519=") || len(good) != 8+88 {
		t.Fatalf("FormatSignature = %q", good)
	}
	if got, err := export.ParseSignature(good); err != nil || string(got) != string(sig) {
		t.Fatalf("ParseSignature(%q) = %x, %v", good, got, err)
	}
	b64 := good[len("ed25519="):]
	bad := func(v string) {
		t.Helper()
		if got, err := export.ParseSignature(v); err == nil || !errors.Is(err, export.ErrBadSignature) {
			t.Fatalf("ParseSignature(%q) = %x, %v; want ErrBadSignature", v, got, err)
		}
	}
	bad("")
	bad(b64)                                                                // no scheme
	bad("Ed25519=" + b64)                                                   // the scheme is spelled one way
	bad("ed25519 =" + b64)                                                  //
	bad("ed25519=" + b64[:87])                                              // short
	bad("ed25519=" + b64 + "=")                                             // long
	bad("ed25519=" + strings.TrimRight(b64, "="))                           // unpadded
	bad("ed25519=" + base64.URLEncoding.EncodeToString(sigWith(sig, 0xff))) // URL alphabet
	bad("ed25519=" + b64[:40] + "\n" + b64[41:])                            // a line feed the decoder would skip
	bad("ed25519=" + b64[:85] + "B==")                                      // stray bits in the last character
	bad("ed25519=" + base64.StdEncoding.EncodeToString(sig[:63]) + "AAAA")  // 63 bytes, padded out
	bad("ed25519=" + good)
}

// sigWith returns sig with its first byte set, so that its URL encoding differs from the
// standard one.
func sigWith(sig []byte, b byte) []byte {
	out := append([]byte(nil), sig...)
	out[0], out[1] = b, b
	return out
}

func TestCheckSignature(t *testing.T) {
	t.Parallel()
	key := testVendorKey()
	pub := key.Public().(ed25519.PublicKey)
	body := []byte(`{"transaction":{"externalId":"o-1","items":[]}}`)
	sig := export.SignRequest(key, "POST", "/organizations/acme/license-transactions", body)
	req := export.SignedRequest("POST", "/organizations/acme/license-transactions", body)
	if string(req) != "POST /organizations/acme/license-transactions\n"+string(body) {
		t.Fatalf("SignedRequest = %q", req)
	}
	if err := export.CheckSignature(pub, sig, req); err != nil {
		t.Fatal(err)
	}
	f := func(name string, pub ed25519.PublicKey, sig string, req []byte, want string) {
		t.Helper()
		err := export.CheckSignature(pub, sig, req)
		if !errors.Is(err, export.ErrBadSignature) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: got %v, want ErrBadSignature with %q", name, err, want)
		}
	}
	other := otherVendorKey().Public().(ed25519.PublicKey)
	f("another key", other, sig, req, "does not verify under vendor key "+export.KeyID(other))
	f("another path", pub, sig, export.SignedRequest("POST", "/organizations/evil/license-transactions", body), "does not verify")
	f("another method", pub, sig, export.SignedRequest("PUT", "/organizations/acme/license-transactions", body), "does not verify")
	changed := append([]byte(nil), body...)
	changed[len(changed)-3] = ' '
	f("a byte of the body", pub, sig, export.SignedRequest("POST", "/organizations/acme/license-transactions", changed), "does not verify")
	f("malformed", pub, "ed25519=abc", req, "base64 characters")
	f("short key", pub[:31], sig, req, "31 bytes")
}
