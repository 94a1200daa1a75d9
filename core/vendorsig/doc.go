// Package vendorsig checks the vendor's signature on provisioning requests. The admin token that
// guards provisioning sits on the customer's machine; with VENDOR_PUBLIC_KEY_FILE set, a product
// or a license transaction must also carry the vendor's Ed25519 signature over METHOD SP PATH
// LF body (meterctl sign). The method and path are rebuilt from what the engine is about to
// change, never taken from the request, so that a signature made for another owner or product
// cannot pass.
//
// The signature format and the key files are export's (meterctl checks the same signatures in
// the usage database); what to do with a refusal, and where the evidence is kept, is core's.
package vendorsig
