package main

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"

	"github.com/meterd/meterd/export"
)

// runKeygen makes a new key: meterctl keygen -o vendor.key.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", "-o FILE", stdout, stderr)
	out, code, ok := fs.parseOut(args, "write the new key to `file`, mode 0600; an existing file is never overwritten")
	if !ok {
		return code
	}
	key, err := export.GenerateKey(out)
	if errors.Is(err, iofs.ErrExist) {
		err = alreadyExists(out)
	}
	if err != nil {
		fs.fail(err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: new key %s\n", out, export.KeyID(key))
	return exitOK
}

// alreadyExists is keygen's and signkey's answer to an -o that names an existing file: a key
// is never overwritten, since that would orphan what was signed with it.
func alreadyExists(path string) error {
	return fmt.Errorf("%s already exists; choose another -o path or remove it", path)
}
