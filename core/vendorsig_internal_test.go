package core

import (
	"errors"
	"testing"
)

// A signed provision record always carries the signature and the request: one without them
// is not something this agent wrote, and export would be handed a signature-less "signed"
// transaction.
func TestSignedRecordNeedsSignature(t *testing.T) {
	rec := sampleRecords()[6].Provision
	if rec.Signature == "" {
		t.Fatal("sample 6 is not the signed provision")
	}
	b := rec.appendTo(nil)
	if b[1] != byte(recProvisionSigned) {
		t.Fatalf("a provision with a signature is written as kind %d, want %d", b[1], recProvisionSigned)
	}
	unsigned := *rec
	unsigned.Signature, unsigned.Request = "", nil
	if k := unsigned.appendTo(nil)[1]; k != byte(recProvision2) {
		t.Fatalf("a provision without one is written as kind %d, want %d, as before signatures", k, recProvision2)
	}
	forged := append(unsigned.appendTo(nil), 0, 0) // empty signature and request
	forged[1] = byte(recProvisionSigned)
	if _, err := decodeRecord(forged); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("a signed record without a signature: %v, want ErrBadRecord", err)
	}
}
