package main

import (
	"path/filepath"

	"github.com/meterd/meterd/bench/meterctl"
)

// vendor does what the vendor does with the usage database once meterd has stopped: verify
// it, then bill from it.
func (o *outcome) vendor(bin, key, db string) {
	out, err := runMeterctl(bin, "verify", "-key", key, db)
	o.verifyOut, o.verifyErr = string(out), err
	o.billed, o.reportErr = meterctl.Billed(filepath.Join(bin, "meterctl"), key, db)
}
