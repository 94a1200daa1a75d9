package export_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vendor.key")
	key, err := export.GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %v, %v; want mode 0600", fi.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != hex.EncodeToString(key)+"\n" || len(key) != export.KeySize {
		t.Fatalf("file holds %q for key %x", b, key)
	}
	loaded, err := export.LoadKey(path)
	if err != nil || string(loaded) != string(key) {
		t.Fatalf("LoadKey: got %x, %v; want %x", loaded, err, key)
	}
	if _, err := export.GenerateKey(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateKey: got %v, want fs.ErrExist", err)
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Fatal("second GenerateKey changed the file")
	}
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hexKey := strings.Repeat("0123456789abcdef", 4)
	i := 0
	f := func(content string, mode os.FileMode, wantErr string) {
		t.Helper()
		i++
		path := filepath.Join(dir, "k"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		key, err := export.LoadKey(path)
		switch {
		case wantErr == "" && (err != nil || hex.EncodeToString(key) != strings.ToLower(hexKey)):
			t.Fatalf("%q: got %x, %v; want the key", content, key, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("%q mode %04o: got %v, want an error naming %s with %q", content, mode, err, path, wantErr)
		}
	}
	f(hexKey, 0o600, "")
	f(" \n\t"+hexKey+"\r\n\n", 0o400, "")
	f(strings.ToUpper(hexKey), 0o600, "")
	f(hexKey[:62], 0o600, "key has 62 characters, want 64 hex digits")
	f(hexKey+"00", 0o600, "66 characters")
	f("", 0o600, "0 characters")
	f(hexKey[:63]+"g", 0o600, "not hex")
	f(hexKey, 0o644, "mode 0644 is readable by others; chmod 600")
	f(hexKey, 0o604, "mode 0604 is readable by others; chmod 600")
	f(hexKey, 0o640, "mode 0640 is readable by group; chmod 600")
	f(hexKey, 0o620, "mode 0620 is accessible by group or others; chmod 600")
	if _, err := export.LoadKey(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	sum := sha256.Sum256(key)
	if got, want := export.KeyID(key), hex.EncodeToString(sum[:])[:16]; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestLevelAndKindNames(t *testing.T) {
	t.Parallel()
	for _, l := range []export.Level{export.Standard, export.Detailed} {
		if got, err := export.ParseLevel(l.String()); got != l || err != nil {
			t.Fatalf("ParseLevel(%q) = %v, %v", l, got, err)
		}
	}
	if got, err := export.ParseLevel("Detailed"); got != export.Detailed || err != nil {
		t.Fatalf("ParseLevel is case-sensitive: %v, %v", got, err)
	}
	if _, err := export.ParseLevel("verbose"); err == nil {
		t.Fatal("ParseLevel(verbose) succeeded")
	}
	f := func(k export.ActionKind, want string) {
		t.Helper()
		if k.String() != want {
			t.Fatalf("got %s, want %s", k, want)
		}
	}
	f(export.Provision, "provision")
	f(export.Consume, "consume")
	f(export.Checkout, "checkout")
	f(export.Checkin, "checkin")
	f(0, "ActionKind(0)")
}

// A directory given as the key is named as such, not as a file whose mode is too open.
func TestLoadKeyOfADirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	_, err := export.LoadKey(dir)
	if want := "export: " + dir + " is a directory, not a key file"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}
