package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// toOutput runs a report that writes to w, and sends what it wrote to
// stdout, or with a path to that file, only when it succeeds. The file is
// written through a temporary file beside it, made before the report runs
// and renamed over the file after: a missing directory fails before a
// ledger is saved, a reader never sees half a report, and a failure leaves
// the old file as it was.
func toOutput(fs *cli, path string, stdout io.Writer, run func(w io.Writer) int) int {
	var buf bytes.Buffer
	if path == "" {
		code := run(&buf)
		if code == exitOK {
			if _, err := stdout.Write(buf.Bytes()); err != nil {
				return fs.fail(err)
			}
		}
		return code
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fs.fail(fmt.Errorf("-o %s: %w", path, err))
	}
	defer os.Remove(f.Name()) // gone after the rename
	defer f.Close()
	code := run(&buf)
	if code != exitOK {
		return code
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Chmod(0o644) // a report, not a secret: as a shell redirect would make it
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fs.fail(fmt.Errorf("-o %s: %w", path, err))
	}
	return exitOK
}
