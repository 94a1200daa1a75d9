package main

import (
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/meterd/meterd/export"
)

// vendorOptions loads the vendor's public key when a path is given.
func vendorOptions(pubPath string) (export.VerifyOptions, error) {
	if pubPath == "" {
		return export.VerifyOptions{}, nil
	}
	pub, err := export.LoadVendorPublicKey(pubPath)
	return export.VerifyOptions{VendorKey: pub}, err
}

// printSignatures says how many of a verified file's provisioning transactions the vendor
// signed, and warns of each it did not: the file is intact either way, but units the vendor
// never sold may stand behind an unsigned or badly signed provision.
func printSignatures(w io.Writer, s *export.Summary, pub ed25519.PublicKey) {
	n := s.SignatureCounts()
	fmt.Fprintf(w, "%s: provisions=%d vendor-signed=%d unsigned=%d bad-signature=%d vendor-key=%s\n", s.Path,
		len(s.Transactions), n[export.SignatureValid], n[export.Unsigned], n[export.SignatureInvalid], export.KeyID(pub))
	for _, tx := range s.Transactions {
		switch tx.Signature {
		case export.Unsigned:
			fmt.Fprintf(w, "%s: warning: seq %d: provision %s (%s, %d units) is not signed by the vendor\n",
				s.Path, tx.FirstSeq, tx.ExternalID, tx.Owner, tx.Units)
		case export.SignatureInvalid:
			fmt.Fprintf(w, "%s: warning: seq %d: provision %s (%s, %d units) has a bad vendor signature: %s\n",
				s.Path, tx.FirstSeq, tx.ExternalID, tx.Owner, tx.Units, tx.Problem)
		}
	}
}
