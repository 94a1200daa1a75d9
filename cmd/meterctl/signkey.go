package main

import (
	"fmt"
	"io"
	"os"

	"github.com/meterd/meterd/export"
)

// runSignkey makes the vendor's signing key pair: meterctl signkey -o vendor.sign.
func runSignkey(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("signkey", "-o FILE", stdout, stderr)
	out, code, ok := fs.parseOut(args, "write the private key to `file` (mode 0600) and the public key to file.pub; existing files are never overwritten")
	if !ok {
		return code
	}
	for _, p := range []string{out, export.PublicKeyPath(out)} {
		if _, err := os.Lstat(p); err == nil {
			fs.fail(alreadyExists(p))
			return exitFailed
		}
	}
	pub, err := export.GenerateVendorKey(out) // refuses existing files itself, should one appear meanwhile
	if err != nil {
		fs.fail(err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: new signing key %s; keep it with the vendor\n%s: its public key, for each agent's VENDOR_PUBLIC_KEY_FILE\n",
		out, export.KeyID(pub), export.PublicKeyPath(out))
	return exitOK
}
