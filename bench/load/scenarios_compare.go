package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

var compareTargets = []target{
	{num: "b", den: "a", what: "meterd async / bare fasthttp", bound: 0.7},
	{num: "c", den: "a", what: "meterd sync / bare fasthttp", bound: 0.6},
	{num: "c", den: "e", what: "meterd sync / Redis appendfsync always", bound: 1.5},
	{num: "c", den: "d", what: "meterd sync over HTTP / raw Pebble Sync", bound: 0.8},
	{num: "g", den: "d", what: "meterd sync engine (no HTTP) / raw Pebble Sync", bound: 0.8},
	{num: "c", den: "f", what: "usage database on / off (both sync)", bound: 0.9},
}

// compare runs rows (a) to (g) back to back with the same connections, duration and mix.
func compare(o *options) (*report, error) {
	runs := []struct {
		id, name string
		f        func(*options, string) (*result, error)
	}{
		{"a", "bare fasthttp", runBare},
		{"b", "meterd async", agentRow(config.DurabilityAsync, true, false)},
		{"c", "meterd sync", agentRow(config.DurabilitySync, true, false)},
		{"d", "raw Pebble Sync", runPebble},
		{"e", "Redis fsync always", runRedis},
		{"f", "meterd sync usage=off", agentRow(config.DurabilitySync, false, false)},
		{"g", "meterd sync engine only", agentRow(config.DurabilitySync, true, true)},
	}
	rep := &report{title: "compare", opts: o, targets: compareTargets}
	run := runID()
	for _, r := range runs {
		if !selected(o.only, r.id) {
			continue
		}
		fmt.Fprintf(os.Stderr, "load: (%s) %s: %v warm-up + %v, %d conns\n", r.id, r.name, o.warmup, o.duration, o.conns)
		runtime.GC()
		res, err := r.f(o, run+r.id)
		rw := &row{id: r.id, name: r.name, res: res, err: err}
		if errors.Is(err, errNoRedis) {
			rw.err, rw.skipped = nil, "redis-server not on PATH"
		}
		rep.rows = append(rep.rows, rw)
	}
	return rep, rep.failed()
}

func selected(only, id string) bool {
	return only == "" || strings.Contains(","+only+",", ","+id+",")
}

func runBare(o *options, run string) (*result, error) {
	b, err := startBare()
	if err != nil {
		return nil, err
	}
	items := make([]string, o.licenses)
	for i := range items {
		items[i] = fmt.Sprintf("BenchItem%d", i)
	}
	res, err := driveHTTP(o, b.base, newMix(o, "organizations/bench-"+run, run, items), 0)
	return res, errors.Join(err, b.stop())
}

// agentRow runs meterd in-process with the given durability and usage database, driven over
// HTTP or, with engineOnly, by calling Engine.Consume.
func agentRow(d config.Durability, usage, engineOnly bool) func(*options, string) (*result, error) {
	return func(o *options, run string) (*result, error) {
		a, err := startAgent(d, usage)
		if err != nil {
			return nil, err
		}
		res, err := driveAgent(o, a, run, engineOnly, 0)
		return res, errors.Join(err, stopNoting(a, res))
	}
}

// driveAgent provisions a fresh owner on a and drives it.
func driveAgent(o *options, a *harness.InProcess, run string, engineOnly bool, batch int) (*result, error) {
	owner := "organizations/bench-" + run
	c, err := a.Client(client.Options{})
	if err != nil {
		return nil, err
	}
	items, err := provision(c, owner, run, o.licenses)
	c.CloseIdle()
	if err != nil {
		return nil, err
	}
	m := newMix(o, owner, run, items)
	if engineOnly {
		return drive(&engineLoad{e: a.Engine(), mix: m}, o.conns, o.warmup, o.duration)
	}
	return driveHTTP(o, a.Base, m, batch)
}

func driveHTTP(o *options, base string, m *mix, batch int) (*result, error) {
	l, err := newHTTPLoad(base, o.conns, m, batch)
	if err != nil {
		return nil, err
	}
	defer l.closeIdle()
	return drive(l, o.conns, o.warmup, o.duration)
}

func runPebble(o *options, _ string) (*result, error) {
	p, err := openPebble()
	if err != nil {
		return nil, err
	}
	res, err := drive(p, o.conns, o.warmup, o.duration)
	return res, errors.Join(err, p.close())
}

func runRedis(o *options, run string) (*result, error) {
	s, err := startRedis(o.redisServer)
	if err != nil {
		return nil, err
	}
	items := make([]string, o.licenses)
	l, err := newRedisLoad(s, newMix(o, "", run, items), o.conns)
	var res *result
	if err == nil {
		res, err = drive(l, o.conns, o.warmup, o.duration)
		err = errors.Join(err, l.close())
	}
	if res != nil {
		res.note = "redis-server " + s.version
	}
	return res, errors.Join(err, s.stop())
}
