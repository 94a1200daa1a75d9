// Package meterctl runs the vendor's command-line tool as a vendor would, from outside, and
// reads what its JSON report bills: for the bench programs (demo, soak) and cmd/meterd's
// crash tests.
package meterctl

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/meterd/meterd/export"
)

// Run runs the meterctl binary at path with args and returns its standard output; an error
// names the command and carries its output and standard error.
func Run(path string, args ...string) ([]byte, error) {
	cmd := exec.Command(path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("meterctl %s: %v: %s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out, nil
}

// Billed returns the units `meterctl report -format json` bills per item, summed over every
// owner and period.
func Billed(path, key, db string) (map[string]int64, error) {
	out, err := Run(path, "report", "-key", key, "-format", "json", db)
	if err != nil {
		return nil, err
	}
	var rep struct {
		Totals []export.Total `json:"totals"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("meterctl report -format json: %w: %.200s", err, out)
	}
	units := map[string]int64{}
	for _, t := range rep.Totals {
		units[t.Item] += t.Units
	}
	return units, nil
}
