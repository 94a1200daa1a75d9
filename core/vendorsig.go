package core

import "github.com/meterd/meterd/core/vendorsig"

// SignatureHeader carries the vendor's signature of a provisioning request: "ed25519=" and the
// padded standard base64 of an Ed25519 signature over METHOD SP PATH LF body (meterctl sign).
const SignatureHeader = vendorsig.Header

// Signed is a request as the vendor signed it: the body as received and the value of its
// Meterd-Signature header. The zero Signed is an unsigned request.
type Signed = vendorsig.Signed

// loadVendorKey reads VENDOR_PUBLIC_KEY_FILE, if set.
func (e *Engine) loadVendorKey() error {
	path := e.cfg.VendorPublicKeyFile
	if path == "" {
		return nil
	}
	key, err := vendorsig.Load(path)
	if err != nil {
		return err
	}
	e.vendorKey = key
	e.logger.Info("provisioning takes only what the vendor signed", "vendor_public_key_file", path, "key_id", key.ID())
	return nil
}

// CheckOrderSignature checks, without changing anything, what Provision checks first: that
// signed is the vendor's signature of a license transaction for owner, when
// VENDOR_PUBLIC_KEY_FILE is set. The HTTP edge calls it before reading the body, so that a
// refused request is refused for its signature whatever its body holds.
func (e *Engine) CheckOrderSignature(owner string, signed Signed) error {
	_, err := e.vendorKey.CheckOrder(owner, signed)
	return err
}

// CheckProductSignature is CheckOrderSignature for PutProduct of product id.
func (e *Engine) CheckProductSignature(id string, signed Signed) error {
	_, err := e.vendorKey.CheckProduct(id, signed)
	return err
}
