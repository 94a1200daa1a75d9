package main

import (
	"fmt"
	"io"

	"github.com/meterd/meterd/export"
)

// runSignkey makes the vendor's signing key pair: meterctl signkey -o vendor.sign.
func runSignkey(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("signkey", "-o FILE", stderr)
	out := fs.String("o", "", "write the private key to `file` (mode 0600) and the public key to file.pub; existing files are never overwritten")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	switch {
	case *out == "":
		return badUsage(fs, "-o is required")
	case fs.NArg() != 0:
		return badUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	pub, err := export.GenerateVendorKey(*out)
	if err != nil {
		fmt.Fprintf(stderr, "meterctl: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: new signing key %s; keep it with the vendor\n%s: its public key, for each agent's VENDOR_PUBLIC_KEY_FILE\n",
		*out, export.KeyID(pub), export.PublicKeyPath(*out))
	return exitOK
}
