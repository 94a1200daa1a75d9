package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/meterd/meterd/core/harness"
)

// errExit is returned by runMeterctl when meterctl exits non-zero; the error says why.
var errExit = errors.New("soak: meterctl failed")

// runMeterctl runs bin/meterctl with args and returns its standard output.
func runMeterctl(bin string, args ...string) ([]byte, error) {
	out, err := harness.Meterctl{Path: filepath.Join(bin, "meterctl")}.Run(args...)
	if err != nil {
		return out, fmt.Errorf("%w: %v", errExit, err)
	}
	return out, nil
}
