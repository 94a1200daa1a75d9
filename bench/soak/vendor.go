package main

import (
	"path/filepath"

	"github.com/meterd/meterd/core/harness"
)

// vendor does what the vendor does with the usage database once meterd has stopped: verify
// it, then bill from it.
func (o *outcome) vendor(bin, key, db string) {
	out, err := runMeterctl(bin, "verify", "-key", key, db)
	o.verifyOut, o.verifyErr = string(out), err
	o.billed, o.reportErr = harness.Meterctl{Path: filepath.Join(bin, "meterctl")}.Billed(key, db)
}
