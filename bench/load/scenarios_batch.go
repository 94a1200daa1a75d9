package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/meterd/meterd/core/config"
)

// batch drives meterd (DURABILITY = sync, usage database on) through POST /v1/consume:batch
// with o.batch requests per call; the target is absolute: a million durable decisions a second.
func batch(o *options) (*report, error) {
	name := fmt.Sprintf("meterd sync batch=%d", o.batch)
	fmt.Fprintf(os.Stderr, "load: %s: %v warm-up + %v, %d conns\n", name, o.warmup, o.duration, o.conns)
	rep := &report{title: "batch", opts: o, decisions: true,
		targets: []target{{num: "batch", what: "durable decisions/s through the batch endpoint", measure: measureDecisions, bound: 1_000_000}}}
	res, err := func() (*result, error) {
		a, err := startAgent(config.DurabilitySync, true)
		if err != nil {
			return nil, err
		}
		res, err := driveAgent(o, a.InProcess, runID(), o.batch)
		return res, errors.Join(err, stopNoting(a, res))
	}()
	rep.rows = append(rep.rows, &row{id: "batch", name: name, res: res, err: err})
	return rep, rep.failed()
}
