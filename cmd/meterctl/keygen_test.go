package main_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vendor.key")
	meterctl(t, "keygen", "-o", path).want(t, 0, path+": new key ", "")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 65 {
		t.Fatalf("got %v, %v; want 65 bytes, mode 0600", fi, err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meterctl(t, "keygen", "-o", path).exactly(t, 1, "", "meterctl keygen: "+path+" already exists; choose another -o path or remove it\n")
	if after, err := os.ReadFile(path); err != nil || string(after) != string(before) {
		t.Fatalf("keygen overwrote the key (%v)", err)
	}
	meterctl(t, "keygen").want(t, 2, "", "-o is required")
	meterctl(t, "keygen", "-o", path+"2", "extra").want(t, 2, "", `unexpected argument "extra"`)
}
