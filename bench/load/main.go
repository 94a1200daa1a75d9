package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if err := run(&o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// run runs o's scenario, prints its report and appends it where -append says.
func run(o *options) error {
	// A CPU profile shows where requests spend CPU; a trace where they wait off it (the
	// scheduler, channels and locks, syscalls).
	for _, rec := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{{o.cpuProfile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {o.trace, trace.Start, trace.Stop}} {
		if rec.path == "" {
			continue
		}
		stop, err := record(rec.path, rec.start, rec.stop)
		if err != nil {
			return err
		}
		defer stop()
	}
	m := machineFacts()
	rep, err := scenario(o)
	err = errors.Join(err, removeBinary())
	if rep == nil {
		return err
	}
	m.finish()
	rep.machine = m
	rep.write(os.Stdout)
	if o.appendTo != "" {
		if aerr := rep.appendTo(o.appendTo, os.Args[1:]); aerr != nil {
			return errors.Join(err, aerr)
		}
		fmt.Printf("appended to %s\n", o.appendTo)
	}
	return err
}

func scenario(o *options) (*report, error) {
	switch o.scenario {
	case "compare":
		return compare(o)
	case "batch":
		return batch(o)
	case "memory":
		return memory(o)
	case "single":
		return single(o)
	}
	panic("BUG: scenario " + o.scenario + " passed validation")
}

// record has start write to a new file at path until the returned func stops it.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}

// runID tells this run's owners, transactions and idempotency keys from any other's.
func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newMix is the request mix of o over items of owner.
func newMix(o *options, owner, run string, items []string) *mix {
	return &mix{owner: owner, items: items, units: o.units, keys: o.keys, run: run}
}
