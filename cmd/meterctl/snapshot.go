package main

import (
	"fmt"
	"io"

	"github.com/meterd/meterd/export"
)

// runSnapshot copies a live usage database consistently: meterctl snapshot [-key FILE]
// usage.db out.db. This, not cp, is how a customer takes the file to send while the agent
// runs: a plain copy misses what waits in the -wal file beside it.
func runSnapshot(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("snapshot", "[-key FILE] usage.db out.db", stdout, stderr)
	keyPath := fs.String("key", "", "verify the copy with the key `file` and print its summary")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() != 2 {
		return fs.badUsage("want the usage database and the file to write, got %d arguments", fs.NArg())
	}
	src, dst := fs.Arg(0), fs.Arg(1)
	var key []byte
	if *keyPath != "" {
		var err error
		if key, err = export.LoadKey(*keyPath); err != nil {
			return fs.fail(err)
		}
	}
	if err := export.Snapshot(src, dst); err != nil {
		return fs.fail(err)
	}
	if key == nil {
		fmt.Fprintf(stdout, "%s: snapshot of %s\n", dst, src)
		return exitOK
	}
	s, err := export.Verify(dst, key)
	if err != nil {
		return fs.fail(err)
	}
	fmt.Fprintln(stdout, summaryLine(s))
	return exitOK
}
