package export

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The vendor's signing key. The agent runs on the customer's machine, and so does its admin
// token: the token cannot tell the vendor's provisioning from the customer's own. The vendor
// signs each provisioning request with an Ed25519 key that never leaves it; the agent checks
// the signature with the public half (VENDOR_PUBLIC_KEY_FILE) and writes it, with the bytes it
// covers, into the provision row, where Verify checks it again with the vendor's copy of the
// public key.
//
// The private key file holds the 64-byte Ed25519 private key (seed ‖ public key) as 128 hex
// digits, the public key file the 32-byte public key as 64 hex digits, each with a newline.
// The lengths differ on purpose: a private key given where the public one belongs is refused
// by name instead of being shipped to the customer's machine without notice.

const (
	signaturePrefix = "ed25519="
	// signatureLen is the length of a signature header value: the prefix and 64 bytes in
	// padded standard base64.
	signatureLen = len(signaturePrefix) + (ed25519.SignatureSize+2)/3*4
)

// ErrBadSignature means a vendor signature is missing, malformed or does not verify.
var ErrBadSignature = errors.New("export: bad vendor signature")

// PublicKeyPath is where GenerateVendorKey writes the public half of the key at path.
func PublicKeyPath(path string) string { return path + ".pub" }

// GenerateVendorKey makes a new Ed25519 key pair: the private key at path (mode 0600) and the
// public key at PublicKeyPath(path) (mode 0644). It refuses to overwrite either file: a
// replaced key would orphan every agent configured with the old public key.
func GenerateVendorKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("export: generate vendor key: %w", err)
	}
	pubPath := PublicKeyPath(path)
	if _, err := os.Lstat(pubPath); err == nil {
		return nil, fmt.Errorf("export: create vendor key: %s already exists", pubPath)
	}
	if err := writeNew(path, hex.EncodeToString(priv), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(pubPath, hex.EncodeToString(pub), 0o644); err != nil {
		os.Remove(path)
		return nil, err
	}
	return pub, syncDir(filepath.Dir(path))
}

// writeNew writes text and a newline to a file that must not exist yet, and syncs it.
func writeNew(path, text string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("export: create vendor key: %w", err)
	}
	_, err = f.WriteString(text + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("export: write vendor key %s: %w", path, err)
	}
	return nil
}

// LoadVendorPrivateKey reads a private key file GenerateVendorKey wrote. A file group or
// others may access is refused: whoever reads it can mint units on every agent.
func LoadVendorPrivateKey(path string) (ed25519.PrivateKey, error) {
	s, err := readKeyFile(path, 0o077)
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("export: %s: want %d hex digits of an Ed25519 private key (meterctl signkey)", path, 2*ed25519.PrivateKeySize)
	}
	priv := ed25519.PrivateKey(b)
	if want := ed25519.NewKeyFromSeed(priv.Seed()); !bytes.Equal(priv, want) {
		return nil, fmt.Errorf("export: %s: the public half does not belong to the private key", path)
	}
	return priv, nil
}

// LoadVendorPublicKey reads a public key file: 64 hex digits, surrounding white space ignored.
// A file group or others may write to is refused: whoever replaces it can mint units.
func LoadVendorPublicKey(path string) (ed25519.PublicKey, error) {
	s, err := readKeyFile(path, 0o022)
	if err != nil {
		return nil, err
	}
	if len(s) == 2*ed25519.PrivateKeySize {
		return nil, fmt.Errorf("export: %s holds a private key; give %s instead, and keep the private key with the vendor", path, PublicKeyPath(path))
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("export: %s: want %d hex digits of an Ed25519 public key (meterctl signkey writes it), got %d characters",
			path, 2*ed25519.PublicKeySize, len(s))
	}
	return ed25519.PublicKey(b), nil
}

// readKeyFile returns the trimmed content of path, refusing a mode with any bit of deny set.
func readKeyFile(path string, deny os.FileMode) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("export: load vendor key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&deny != 0 {
		fix := "chmod go-w"
		if deny&0o044 != 0 {
			fix = "chmod 600"
		}
		return "", fmt.Errorf("export: %s: mode %04o lets group or others %s it; %s %s", path, perm, access(deny), fix, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("export: load vendor key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func access(deny os.FileMode) string {
	if deny&0o044 != 0 {
		return "read"
	}
	return "write"
}

// SignedRequest is what a vendor signature covers: the method, a space, the path, a line feed
// and the body, exactly as sent.
func SignedRequest(method, path string, body []byte) []byte {
	b := make([]byte, 0, len(method)+len(path)+2+len(body))
	b = append(append(append(append(b, method...), ' '), path...), '\n')
	return append(b, body...)
}

// SignRequest returns the Meterd-Signature header value for a request: "ed25519=" and the
// signature of SignedRequest(method, path, body) in padded standard base64.
func SignRequest(priv ed25519.PrivateKey, method, path string, body []byte) string {
	return FormatSignature(ed25519.Sign(priv, SignedRequest(method, path, body)))
}

// FormatSignature is ParseSignature's inverse.
func FormatSignature(sig []byte) string {
	return signaturePrefix + base64.StdEncoding.EncodeToString(sig)
}

// ParseSignature reads a Meterd-Signature header value. Only the form FormatSignature writes
// is accepted, so a signature has one spelling: the usage database stores it as received,
// and two spellings of one signature must not look like two signatures. Errors describe the
// value without quoting it: the agent answers them to whoever sent the header, and what an
// answer echoes is what the HTTP edge has to prove holds no secret.
func ParseSignature(v string) ([]byte, error) {
	b64, ok := strings.CutPrefix(v, signaturePrefix)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: want %s<base64 of %d bytes>; the value does not start with %s", ErrBadSignature,
			signaturePrefix, ed25519.SignatureSize, signaturePrefix)
	case len(v) != signatureLen:
		return nil, fmt.Errorf("%w: want %d base64 characters after %s, got %d", ErrBadSignature, signatureLen-len(signaturePrefix), signaturePrefix, len(b64))
	}
	// Strict: no stray bits in the last character. The length check above has already
	// refused line feeds, which the decoder would skip.
	sig, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: the characters after %s are not padded standard base64 of %d bytes", ErrBadSignature,
			signaturePrefix, ed25519.SignatureSize)
	}
	return sig, nil
}

// CheckSignature verifies a Meterd-Signature header value over request (SignedRequest's form)
// with the vendor's public key. Errors wrap ErrBadSignature.
func CheckSignature(pub ed25519.PublicKey, value string, request []byte) error {
	sig, err := ParseSignature(value)
	if err != nil {
		return err
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: vendor public key has %d bytes, want %d", ErrBadSignature, len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, request, sig) {
		return fmt.Errorf("%w: it does not verify under vendor key %s", ErrBadSignature, KeyID(pub))
	}
	return nil
}

// quoteShort quotes s for an error message, cut to a length a log line can hold.
func quoteShort(s string) string {
	const most = 120
	if len(s) > most {
		return fmt.Sprintf("%q…", s[:most])
	}
	return fmt.Sprintf("%q", s)
}
