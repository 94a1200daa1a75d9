package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/meterd/meterd/bench/meterctl"
)

// errExit is returned by runMeterctl when meterctl exits non-zero; the error says why.
var errExit = errors.New("soak: meterctl failed")

// runMeterctl runs bin/meterctl with args and returns its standard output.
func runMeterctl(bin string, args ...string) ([]byte, error) {
	out, err := meterctl.Run(filepath.Join(bin, "meterctl"), args...)
	if err != nil {
		return out, fmt.Errorf("%w: %v", errExit, err)
	}
	return out, nil
}
