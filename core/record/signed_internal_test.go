package record

import (
	"errors"
	"testing"
)

// A provision record carries a vendor signature and the request it covers together, or
// neither: one without the other is not something this agent wrote, and export would be
// handed a signature-less "signed" transaction. So must a signed record of earlier builds.
func TestSignedRecordNeedsSignature(t *testing.T) {
	rec := sampleRecords()[6].Provision
	if rec.Signature == "" {
		t.Fatal("sample 6 is not the signed provision")
	}
	for _, tc := range []struct {
		name          string
		sig           string
		req           []byte
		wantDecodable bool
	}{
		{"signed", rec.Signature, rec.Request, true},
		{"unsigned", "", nil, true},
		{"signature alone", rec.Signature, nil, false},
		{"request alone", "", rec.Request, false},
	} {
		r := *rec
		r.Signature, r.Request = tc.sig, tc.req
		_, err := Decode(r.AppendTo(nil))
		if ok := err == nil; ok != tc.wantDecodable || !ok && !errors.Is(err, ErrBadRecord) {
			t.Fatalf("%s: %v, want decodable %v", tc.name, err, tc.wantDecodable)
		}
	}
	legacy := appendHeader(nil, recProvisionSigned, 9)
	legacy = AppendStr(AppendStr(AppendStr(AppendStr(legacy, "tx"), "x"), "Order"), "users/u")
	legacy = append(append(legacy, make([]byte, 32)...), 0) // hash, no items
	legacy = AppendStr(legacy, `{"transaction":{"processed":"2026-01-01T00:00:00Z"}}`)
	legacy = append(legacy, 0, 0) // empty signature and request
	if _, err := Decode(legacy); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("a signed record of an earlier build without a signature: %v, want ErrBadRecord", err)
	}
}
