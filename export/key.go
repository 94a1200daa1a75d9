package export

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of the HMAC-SHA256 key shared by agent and vendor.
const KeySize = 32

// GenerateKey writes a new random key to path as 64 hex digits and a
// newline, mode 0600, and returns it. It refuses to overwrite an existing
// file: replacing a key would orphan every database signed with it.
func GenerateKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails (crypto/rand since Go 1.24)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("export: create key: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("export: write key %s: %w", path, err)
	}
	// A key lost to a power cut would orphan every row signed with it.
	return key, syncDir(filepath.Dir(path))
}

// LoadKey reads a key file: 64 hex digits, surrounding white space ignored.
// A file that group or others may access is refused, since the key signs
// every usage row. Errors name the file; a missing file wraps
// fs.ErrNotExist.
func LoadKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("export: load key: %w", err)
	}
	if fi.IsDir() { // before the mode check: a directory's usual 0755 is no exposure of a key
		return nil, fmt.Errorf("export: %s is a directory, not a key file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("export: %s: mode %04o is %s; chmod 600", path, perm, exposure(perm))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("export: load key: %w", err)
	}
	return parseKey(path, strings.TrimSpace(string(b)))
}

func exposure(perm os.FileMode) string {
	switch {
	case perm&0o004 != 0:
		return "readable by others"
	case perm&0o040 != 0:
		return "readable by group"
	}
	return "accessible by group or others"
}

func parseKey(path, s string) ([]byte, error) {
	if len(s) != 2*KeySize {
		return nil, fmt.Errorf("export: %s: key has %d characters, want %d hex digits", path, len(s), 2*KeySize)
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("export: %s: key is not hex: %w", path, err)
	}
	return key, nil
}

// KeyID names a key without revealing it: the first 16 hex digits of its
// SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}
