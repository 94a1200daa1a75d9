package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/meterd/meterd/core/client"
)

// single drives an agent that is already running at o.url: on licenses it provisions with the
// admin token of o.tokenFile, or on o.owner's o.items.
func single(o *options) (*report, error) {
	run := runID()
	owner, items := o.owner, strings.Split(o.items, ",")
	if o.tokenFile != "" {
		tok, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		owner = "organizations/bench-" + run
		c, err := client.New(o.url, client.Options{Token: strings.TrimSpace(string(tok))})
		if err != nil {
			return nil, err
		}
		items, err = provision(c, owner, run, o.licenses)
		c.CloseIdle()
		if err != nil {
			return nil, err
		}
	}
	batchItems, name := 0, "agent at "+o.url
	if o.batch > 1 {
		batchItems, name = o.batch, fmt.Sprintf("%s batch=%d", name, o.batch)
	}
	rep := &report{title: "single", opts: o, decisions: batchItems > 0}
	res, err := driveHTTP(o, o.url, 0, newMix(o, owner, run, items), batchItems)
	rep.rows = append(rep.rows, &row{id: "single", name: name, res: res, err: err})
	return rep, rep.failed()
}
