package export_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// FuzzVerify feeds Verify mutated usage databases. It must never panic, and
// whatever it accepts must be one of the seed databases as far as the
// summary can tell: bytes changed in a way that changes content must fail.
//
//	go test ./export -run '^$' -fuzz FuzzVerify -fuzztime 60s -fuzzminimizetime 50x
//
// (Minimizing a 16 KiB input takes minutes at the default, and the
// progress line stands still meanwhile.)
func FuzzVerify(f *testing.F) {
	key := testKey(f)
	var good []export.Summary
	for _, name := range []string{"usage.db", "usage-detailed.db", "tampered-truncated-half.db"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if s, err := export.Verify(filepath.Join("testdata", name), key); err == nil {
			s.Path = ""
			good = append(good, *s)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("SQLite format 3\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "usage.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := export.Verify(path, key)
		if err != nil {
			return
		}
		s.Path = ""
		for _, g := range good {
			if reflect.DeepEqual(*s, g) {
				return
			}
		}
		t.Fatalf("accepted a database unlike any seed: %+v", *s)
	})
}

// FuzzLoadLedger feeds LoadLedger arbitrary files: no panic, and a ledger
// it loads saves and loads back the same.
func FuzzLoadLedger(f *testing.F) {
	f.Add([]byte(`{"version": 1, "agents": {"a": {"head_seq": 3, "head_mac": "` +
		"5a3114235dd89387a3d2c1e0f9e8d7c6b5a4938271605f4e3d2c1b0a99887766" + `", "key_id": "x", "file": "u.db", "accepted": "2026-12-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"version": 1}`))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "ledger")
		os.WriteFile(path, b, 0o600)
		l, err := export.LoadLedger(path)
		if err != nil {
			return
		}
		if err := l.Save(); err != nil {
			t.Fatal(err)
		}
		saved, _ := os.ReadFile(path)
		l2, err := export.LoadLedger(path)
		if err != nil {
			t.Fatalf("reloading %q: %v", saved, err)
		}
		l2.Save()
		if again, _ := os.ReadFile(path); !bytes.Equal(again, saved) {
			t.Fatalf("saved %q, then %q", saved, again)
		}
	})
}

// FuzzParseSignature feeds the Meterd-Signature parser arbitrary header values: no panic, and
// a value it accepts is the one spelling FormatSignature gives its 64 bytes, so a signature
// stored in the usage database reads back as the value the agent checked.
func FuzzParseSignature(f *testing.F) {
	sig := export.SignRequest(testVendorKey(), "POST", "/users/u/license-transactions", []byte("{}"))
	f.Add(sig)
	f.Add(strings.TrimRight(sig, "="))
	f.Add(sig[:50] + "\n" + sig[51:])
	f.Add("ed25519=")
	f.Add("")
	f.Add("ed25519=" + strings.Repeat("/", 86) + "==")
	f.Fuzz(func(t *testing.T, v string) {
		b, err := export.ParseSignature(v)
		if err != nil {
			if !errors.Is(err, export.ErrBadSignature) {
				t.Fatalf("ParseSignature(%q): %v does not wrap ErrBadSignature", v, err)
			}
			return
		}
		if len(b) != ed25519.SignatureSize || export.FormatSignature(b) != v {
			t.Fatalf("ParseSignature(%q) = %x, which formats as %q", v, b, export.FormatSignature(b))
		}
	})
}
