package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the command line, validated.
type options struct {
	scenario    string
	conns       int
	duration    time.Duration
	warmup      time.Duration
	units       unitsRange
	licenses    int
	keys        float64
	batch       int
	decisions   int
	sampleEvery int
	url         string
	owner       string
	items       string
	tokenFile   string
	only        string
	rounds      int
	turn        time.Duration
	appendTo    string
	cpuProfile  string
	trace       string
	redisServer string
}

// unitsRange is -units: a fixed count ("1") or an inclusive range ("1-10").
type unitsRange struct{ lo, hi int64 }

func (u *unitsRange) String() string {
	if u.lo == u.hi {
		return strconv.FormatInt(u.lo, 10)
	}
	return fmt.Sprintf("%d-%d", u.lo, u.hi)
}

func (u *unitsRange) Set(s string) error {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.ParseInt(lo, 10, 64)
	h, err2 := strconv.ParseInt(hi, 10, 64)
	if err := errors.Join(err1, err2); err != nil || l < 1 || h < l || h > 1_000_000_000 {
		return fmt.Errorf("want N or LO-HI with 1 ≤ LO ≤ HI ≤ 10^9, got %q", s)
	}
	u.lo, u.hi = l, h
	return nil
}

func parseFlags(args []string) (options, error) {
	o := options{units: unitsRange{1, 1}}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "compare", "compare, batch, memory or single")
	fs.IntVar(&o.conns, "conns", 64, "connections (compare: also Pebble writers and Redis connections)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each row")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each row")
	fs.Var(&o.units, "units", "units per consume: N or LO-HI (uniform)")
	fs.IntVar(&o.licenses, "licenses", 4, "licenses to spread the load over (uniform)")
	fs.Float64Var(&o.keys, "keys", 0, "fraction of requests carrying a fresh Idempotency-Key (0 to 1)")
	fs.IntVar(&o.batch, "batch", 0, "items per POST /v1/consume:batch (batch: default 1000; single: >1 uses the batch endpoint)")
	fs.IntVar(&o.decisions, "decisions", 10_000_000, "memory: decisions to run")
	fs.IntVar(&o.sampleEvery, "sample-every", 1_000_000, "memory: decisions between samples of RSS and the WAL size")
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8787", "single: the running agent")
	fs.StringVar(&o.tokenFile, "token-file", "", "single: admin token file; provisions fresh bench licenses to consume from")
	fs.StringVar(&o.owner, "owner", "", "single without -token-file: owner to consume from (organizations/ID or users/ID)")
	fs.StringVar(&o.items, "items", "", "single without -token-file: comma-separated licensed items of -owner")
	fs.StringVar(&o.only, "only", "", "compare: comma-separated rows to run (e.g. a,c,d,c256); default all")
	fs.IntVar(&o.rounds, "rounds", 1, "compare: run the rows this many times, every other round in reverse order; targets judge the median over rounds")
	fs.DurationVar(&o.turn, "turn", 0, "compare: keep every selected server up and drive them in turns of this length (e.g. 250ms), -duration in all per row; HTTP rows only")
	fs.StringVar(&o.appendTo, "append", "", "append the command, machine facts and table to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (client and server) to this file")
	fs.StringVar(&o.trace, "trace", "", "write a runtime/trace of the whole run to this file (go tool trace -pprof=sched|sync|syscall reads the waits off CPU)")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary for row (e); skipped when not found")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, o.validate()
}

func (o *options) validate() error {
	switch o.scenario {
	case "compare", "memory":
	case "batch":
		o.batch = cmp.Or(o.batch, 1000)
	case "single":
		o.batch = cmp.Or(o.batch, 1)
		if o.tokenFile == "" && (o.owner == "" || o.items == "") {
			return errors.New("single: give -token-file to provision, or -owner and -items")
		}
	default:
		return fmt.Errorf("unknown -scenario %q (want compare, batch, memory or single)", o.scenario)
	}
	switch {
	case o.conns < 1:
		return errors.New("-conns must be at least 1")
	case o.duration <= 0 || o.warmup < 0:
		return errors.New("-duration must be positive and -warmup not negative")
	case o.licenses < 1 || o.licenses > 1000:
		return errors.New("-licenses must be 1 to 1000")
	case o.keys < 0 || o.keys > 1:
		return errors.New("-keys must be a fraction from 0 to 1")
	case o.batch < 0 || o.batch > 1000:
		return errors.New("-batch must be 1 to 1000")
	case o.decisions < 1 || o.sampleEvery < 1:
		return errors.New("-decisions and -sample-every must be positive")
	case o.rounds < 1:
		return errors.New("-rounds must be at least 1")
	case o.rounds > 1 && o.scenario != "compare":
		return errors.New("-rounds applies to -scenario compare only")
	case o.turn < 0 || o.turn > 0 && o.scenario != "compare":
		return errors.New("-turn applies to -scenario compare only, and must be positive")
	case o.turn > 0 && o.rounds > 1:
		return errors.New("-turn and -rounds do not go together: turns are the rounds")
	case o.turn > 0 && o.duration < o.turn:
		return errors.New("-duration must hold at least one -turn")
	}
	return o.validateOnly()
}

// validateOnly rejects an -only naming a row compare does not have, which would otherwise
// run nothing in its place without a word.
func (o *options) validateOnly() error {
	if o.only == "" {
		return nil
	}
	if o.scenario != "compare" {
		return errors.New("-only applies to -scenario compare only")
	}
	var ids []string
	for _, r := range compareRuns {
		ids = append(ids, r.id)
	}
	for id := range strings.SplitSeq(o.only, ",") {
		if !slices.Contains(ids, id) {
			return fmt.Errorf("-only: no row %q (rows: %s)", id, strings.Join(ids, ","))
		}
	}
	return nil
}
