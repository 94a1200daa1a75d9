package vendorsig

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"

	"github.com/meterd/meterd/export"
)

// Header carries the vendor's signature of a provisioning request: "ed25519=" and the padded
// standard base64 of an Ed25519 signature over METHOD SP PATH LF body (meterctl sign).
const Header = "Meterd-Signature"

// ErrBadSignature marks a provisioning request whose signature is missing, malformed, or not
// the vendor's over this method, path and body.
var ErrBadSignature = errors.New("bad vendor signature")

// Signed is a request as the vendor signed it: the body as received and the value of its
// Meterd-Signature header. The zero Signed is an unsigned request.
type Signed struct {
	Signature string
	Body      []byte
}

// Evidence is a checked signature and the bytes it covers, kept with the transaction.
type Evidence struct {
	Signature string
	Request   []byte
}

// Key is the vendor's public key. The nil Key accepts anything and keeps nothing, as meterd
// did before signatures existed.
type Key ed25519.PublicKey

// Load reads the key of VENDOR_PUBLIC_KEY_FILE. A file that is not a public key is an error,
// which stops start-up: an agent meant to take only signed provisioning must never start
// taking any.
func Load(path string) (Key, error) {
	pub, err := export.LoadVendorPublicKey(path)
	if err != nil {
		return nil, fmt.Errorf("vendor public key: %w", err)
	}
	return Key(pub), nil
}

// ID names the key in logs, as meterctl names it.
func (k Key) ID() string { return export.KeyID(ed25519.PublicKey(k)) }

// CheckOrder checks s as a license transaction for owner.
func (k Key) CheckOrder(owner string, s Signed) (Evidence, error) {
	return k.check("POST", "/"+owner+"/license-transactions", s)
}

// CheckProduct checks s as the product id.
func (k Key) CheckProduct(id string, s Signed) (Evidence, error) {
	return k.check("PUT", "/products/"+id, s)
}

// check checks s against the request rebuilt from method and path, before anything else looks
// at the body.
func (k Key) check(method, path string, s Signed) (Evidence, error) {
	if k == nil {
		return Evidence{}, nil
	}
	if s.Signature == "" {
		return Evidence{}, fmt.Errorf("%w: this agent provisions only what the vendor signed, and the %s header is missing "+
			"(meterctl sign -key vendor.sign -method %s -path %s FILE)", ErrBadSignature, Header, method, path)
	}
	req := export.SignedRequest(method, path, s.Body)
	if err := export.CheckSignature(ed25519.PublicKey(k), s.Signature, req); err != nil {
		detail := strings.TrimPrefix(err.Error(), export.ErrBadSignature.Error()+": ")
		return Evidence{}, fmt.Errorf("%w: %s for %s %s and this body: %s", ErrBadSignature, Header, method, path, detail)
	}
	return Evidence{Signature: s.Signature, Request: req}, nil
}
