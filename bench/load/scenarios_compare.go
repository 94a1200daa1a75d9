package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
	"github.com/meterd/meterd/wal"
)

// compareTargets are the ratios the project commits to, headline first.
var compareTargets = []target{
	{num: "c", den: "e", what: "meterd sync / Redis appendfsync always", bound: 1.2},
	{num: "c256", den: "b256", what: "meterd sync / async at 256 connections", bound: 0.85},
	{num: "b", den: "a", what: "meterd async / bare fasthttp", bound: 0.75},
	{num: "c", den: "e", what: "meterd sync / Redis appendfsync always", measure: measureP99, ceiling: true, bound: 1},
	{num: "l", den: "e", what: "placement: meterd sync in its own process / Redis appendfsync always", bound: 1.2},
	{num: "l", den: "e", what: "placement: meterd sync in its own process / Redis appendfsync always", measure: measureP99, ceiling: true, bound: 1},
	{num: "c", den: "a", what: "meterd sync / bare fasthttp", bound: 0.6},
	{num: "c", den: "d", what: "meterd sync over HTTP / raw Pebble Sync", bound: 0.8},
	{num: "g", den: "d", what: "meterd sync engine (no HTTP) / raw Pebble Sync", bound: 0.8},
	{num: "c", den: "f", what: "usage database on / off (both sync)", bound: 0.9},
	{num: "h", den: "e", what: "ceiling: bare fasthttp + fdatasync / Redis appendfsync always", bound: 1.2},
	{num: "j", den: "e", what: "ceiling: bare fasthttp + WAL sync / Redis appendfsync always", bound: 1.2},
	{num: "j", den: "e", what: "ceiling: bare fasthttp + WAL sync / Redis appendfsync always", measure: measureP99, ceiling: true, bound: 1},
	{num: "i", den: "a", what: "ceiling: bare fasthttp + WAL async / bare fasthttp", bound: 0.75},
}

// compareRun is one row of compare: what it runs and with how many connections.
type compareRun struct {
	id, name string
	conns    int // 0: -conns
	f        func(*options, string) (*result, error)
	// serve starts the row's HTTP server, for rows that are one (nil for the others); -turn
	// needs it to keep every server up while the rows take turns.
	serve func(*options, string) (*server, error)
}

// server is one HTTP row's server: where it listens, what it is sent, and how it stops (noting
// in res, when there is one, what the row's note says).
type server struct {
	base string
	mix  *mix
	pid  int // the server's process when it is not this one, for its CPU time; else 0
	stop func(res *result) error
}

// httpRun is a row whose server serve starts: f starts it, drives it and stops it.
func httpRun(id, name string, conns int, serve func(*options, string) (*server, error)) compareRun {
	return compareRun{id: id, name: name, conns: conns, serve: serve, f: func(o *options, run string) (*result, error) {
		s, err := serve(o, run)
		if err != nil {
			return nil, err
		}
		res, err := driveHTTP(o, s.base, s.pid, s.mix, 0)
		return res, errors.Join(err, s.stop(res))
	}}
}

// compareRuns are compare's rows in the order a round lists them. (b256) and (c256) hold the
// connections at 256 whatever -conns says: the sync/async target is about many clients
// sharing each fsync.
var compareRuns = []compareRun{
	httpRun("a", "bare fasthttp", 0, serveBare),
	httpRun("b", "meterd async", 0, serveAgent(config.DurabilityAsync, true)),
	httpRun("c", "meterd sync", 0, serveAgent(config.DurabilitySync, true)),
	{id: "d", name: "raw Pebble Sync", f: runPebble},
	{id: "e", name: "Redis fsync always", f: runRedis},
	httpRun("f", "meterd sync usage=off", 0, serveAgent(config.DurabilitySync, false)),
	{id: "g", name: "meterd sync engine only", f: runEngineOnly},
	httpRun("h", "bare fasthttp + fdatasync", 0, serveBareSync),
	httpRun("i", "bare fasthttp + WAL async", 0, serveBareWAL(wal.Async, true)),
	httpRun("j", "bare fasthttp + WAL sync", 0, serveBareWAL(wal.Sync, true)),
	httpRun("k", "bare fasthttp + WAL sync, no recycling", 0, serveBareWAL(wal.Sync, false)),
	httpRun("l", "meterd sync, own process", 0, serveProcess(config.DurabilitySync)),
	httpRun("b256", "meterd async 256 conns", 256, serveAgent(config.DurabilityAsync, true)),
	httpRun("c256", "meterd sync 256 conns", 256, serveAgent(config.DurabilitySync, true)),
}

// compare runs the rows -only selects back to back, -rounds times, or with -turn all at once
// in turns.
func compare(o *options) (*report, error) {
	if o.turn > 0 {
		return compareTurns(o, compareRuns)
	}
	rep := runRounds(o, compareRuns)
	return rep, rep.failed()
}

// runRounds runs the selected rows of runs o.rounds times, in roundOrder.
func runRounds(o *options, runs []compareRun) *report {
	var sel []compareRun
	for _, r := range runs {
		if selected(o.only, r.id) {
			sel = append(sel, r)
		}
	}
	rep := &report{title: "compare", opts: o, targets: compareTargets, rounds: o.rounds}
	for k := range o.rounds {
		run := runID()
		for _, r := range roundOrder(sel, k) {
			rep.rows = append(rep.rows, r.run(o, k, run))
		}
	}
	return rep
}

// run runs r as round k of run.
func (r compareRun) run(o *options, k int, run string) *row {
	ro := *o
	ro.conns = cmp.Or(r.conns, o.conns)
	round := ""
	if o.rounds > 1 {
		round = fmt.Sprintf("round %d/%d ", k+1, o.rounds)
	}
	fmt.Fprintf(os.Stderr, "load: %s(%s) %s: %v warm-up + %v, %d conns\n", round, r.id, r.name, ro.warmup, ro.duration, ro.conns)
	runtime.GC()
	res, err := r.f(&ro, run+r.id)
	rw := &row{id: r.id, name: r.name, round: k, res: res, err: err}
	if errors.Is(err, errNoRedis) {
		rw.err, rw.skipped = nil, "redis-server not on PATH"
	}
	return rw
}

func selected(only, id string) bool {
	return only == "" || strings.Contains(","+only+",", ","+id+",")
}

func serveBare(o *options, run string) (*server, error) {
	b, err := startBare()
	if err != nil {
		return nil, err
	}
	return &server{base: b.base, mix: bareMix(o, run), stop: func(*result) error { return b.stop() }}, nil
}

func serveBareSync(o *options, run string) (*server, error) {
	b, err := startBareSync()
	if err != nil {
		return nil, err
	}
	return &server{base: b.base, mix: bareMix(o, run), stop: b.stop}, nil
}

// bareMix is the requests of a meterd row, sent to a server that ignores them.
func bareMix(o *options, run string) *mix {
	items := make([]string, o.licenses)
	for i := range items {
		items[i] = fmt.Sprintf("BenchItem%d", i)
	}
	return newMix(o, "organizations/bench-"+run, run, items)
}

// serveAgent runs meterd in-process with the given durability and usage database, provisioned
// for the row's requests.
func serveAgent(d config.Durability, usage bool) func(*options, string) (*server, error) {
	return func(o *options, run string) (*server, error) {
		a, err := startAgent(d, usage)
		if err != nil {
			return nil, err
		}
		m, err := agentMix(o, a.InProcess, run)
		if err != nil {
			return nil, errors.Join(err, a.Stop())
		}
		return &server{base: a.Base, mix: m, stop: func(res *result) error { return stopNoting(a, res) }}, nil
	}
}

// runEngineOnly is row (g): meterd sync driven by calling Engine.Consume, without HTTP.
func runEngineOnly(o *options, run string) (*result, error) {
	a, err := startAgent(config.DurabilitySync, true)
	if err != nil {
		return nil, err
	}
	m, err := agentMix(o, a.InProcess, run)
	var res *result
	if err == nil {
		res, err = drive(&engineLoad{e: a.Engine(), mix: m}, o.conns, o.warmup, o.duration)
	}
	return res, errors.Join(err, stopNoting(a, res))
}

// driveAgent provisions a fresh owner on a and drives it over HTTP.
func driveAgent(o *options, a *harness.InProcess, run string, batch int) (*result, error) {
	m, err := agentMix(o, a, run)
	if err != nil {
		return nil, err
	}
	return driveHTTP(o, a.Base, 0, m, batch)
}

// agentMix provisions a fresh owner on a with o.licenses licenses and returns the requests
// that consume from them.
func agentMix(o *options, a *harness.InProcess, run string) (*mix, error) {
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
	return newMix(o, owner, run, items), nil
}

func driveHTTP(o *options, base string, pid int, m *mix, batch int) (*result, error) {
	l, err := newHTTPLoad(base, pid, o.conns, m, batch)
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
