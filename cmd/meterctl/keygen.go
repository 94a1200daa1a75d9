package main

import (
	"fmt"
	"io"

	"github.com/meterd/meterd/export"
)

// runKeygen makes a new key: meterctl keygen -o vendor.key.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", "-o FILE", stderr)
	out := fs.String("o", "", "write the new key to `file`, mode 0600; an existing file is never overwritten")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	switch {
	case *out == "":
		return badUsage(fs, "-o is required")
	case fs.NArg() != 0:
		return badUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	key, err := export.GenerateKey(*out)
	if err != nil {
		fmt.Fprintf(stderr, "meterctl: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: new key %s\n", *out, export.KeyID(key))
	return exitOK
}
