package core

import (
	"fmt"
	"strings"

	"github.com/meterd/meterd/export"
)

// SignatureHeader carries the vendor's signature of a provisioning request: "ed25519=" and the
// padded standard base64 of an Ed25519 signature over METHOD SP PATH LF body (meterctl sign).
const SignatureHeader = "Meterd-Signature"

// vendorEvidence is a checked signature and the bytes it covers, kept with the transaction.
type vendorEvidence struct {
	signature string
	request   []byte
}

// loadVendorKey reads VENDOR_PUBLIC_KEY_FILE, if set. A file that is not a public key stops
// start-up: an agent meant to take only signed provisioning must never start taking any.
func (e *Engine) loadVendorKey() error {
	path := e.cfg.VendorPublicKeyFile
	if path == "" {
		return nil
	}
	pub, err := export.LoadVendorPublicKey(path)
	if err != nil {
		return fmt.Errorf("vendor public key: %w", err)
	}
	e.vendorKey = pub
	e.logger.Info("provisioning takes only what the vendor signed", "vendor_public_key_file", path, "key_id", export.KeyID(pub))
	return nil
}

// checkVendor checks the signature header value of a provisioning request against the vendor's
// key, before anything else looks at the body. Without a key it accepts anything and keeps
// nothing, as meterd did before signatures existed. The request is rebuilt from what the engine
// is about to act on (the method of the route and the path of the owner or product), so a
// signature made for another path, such as another owner's, cannot verify.
func (e *Engine) checkVendor(method, path string, body []byte, header string) (vendorEvidence, error) {
	if e.vendorKey == nil {
		return vendorEvidence{}, nil
	}
	if header == "" {
		return vendorEvidence{}, fmt.Errorf("%w: this agent provisions only what the vendor signed, and the %s header is missing "+
			"(meterctl sign -key vendor.sign -method %s -path %s FILE)", ErrBadSignature, SignatureHeader, method, path)
	}
	req := export.SignedRequest(method, path, body)
	if err := export.CheckSignature(e.vendorKey, header, req); err != nil {
		detail := strings.TrimPrefix(err.Error(), export.ErrBadSignature.Error()+": ")
		return vendorEvidence{}, fmt.Errorf("%w: %s for %s %s and this body: %s", ErrBadSignature, SignatureHeader, method, path, detail)
	}
	return vendorEvidence{signature: header, request: req}, nil
}

// CheckOrderSignature checks, without changing anything, what Provision checks first: that
// signed is the vendor's signature of a license transaction for owner, when
// VENDOR_PUBLIC_KEY_FILE is set. The HTTP edge calls it before reading the body, so that a
// refused request is refused for its signature whatever its body holds.
func (e *Engine) CheckOrderSignature(owner string, signed Signed) error {
	_, err := e.checkVendor("POST", orderPath(owner), signed.Body, signed.Signature)
	return err
}

// CheckProductSignature is CheckOrderSignature for PutProduct of product id.
func (e *Engine) CheckProductSignature(id string, signed Signed) error {
	_, err := e.checkVendor("PUT", productPath(id), signed.Body, signed.Signature)
	return err
}

// The paths a vendor signs, rebuilt from what the engine is about to change, so that a
// signature made for another owner or product cannot verify.
func orderPath(owner string) string { return "/" + owner + "/license-transactions" }
func productPath(id string) string  { return "/products/" + id }
