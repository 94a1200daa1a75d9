package main

import (
	"encoding/json"
	"fmt"
)

// vendor does what the vendor does with the usage database once meterd has stopped: verify
// it, then bill from it.
func (o *outcome) vendor(bin, key, db string) {
	out, err := meterctl(bin, "verify", "-key", key, db)
	o.verifyOut, o.verifyErr = string(out), err
	o.billed, o.reportErr = billed(bin, key, db)
}

// billed is `meterctl report -format json`'s units per item, over every owner and period.
func billed(bin, key, db string) (map[string]int64, error) {
	out, err := meterctl(bin, "report", "-key", key, "-format", "json", db)
	if err != nil {
		return nil, err
	}
	var rep struct {
		Totals []struct {
			Item  string `json:"item"`
			Units int64  `json:"units"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("report -format json: %w: %.200s", err, out)
	}
	units := map[string]int64{}
	for _, t := range rep.Totals {
		units[t.Item] += t.Units
	}
	return units, nil
}
