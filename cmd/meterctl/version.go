package main

import (
	"fmt"
	"io"

	"github.com/meterd/meterd/core/version"
)

// runVersion prints the build: meterctl version.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", stdout, stderr)
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return fs.badUsage("unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintln(stdout, "meterctl", version.Get())
	return exitOK
}
