package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// compareTurns runs the selected rows with all their servers up at once, driving one at a
// time in turns of o.turn, rows in ABBA order within each cycle of turns. Cycle k is round k
// of the report, so every ratio is judged on rows measured within a second of each other.
// Rows run back to back for whole seconds are not: here, bare fasthttp alone swings by 15 %
// between rounds of one run, as much as the targets' margins. Only HTTP rows can take
// turns; the idle servers cost nothing but their background work (an agent's applier
// finishing what the last turn appended), which spills into the next row's turn.
func compareTurns(o *options, runs []compareRun) (*report, error) {
	var sel []compareRun
	for _, r := range runs {
		if !selected(o.only, r.id) {
			continue
		}
		if r.serve == nil {
			return nil, fmt.Errorf("-turn: row (%s) %s is not an HTTP server and cannot take turns; pick rows with -only", r.id, r.name)
		}
		sel = append(sel, r)
	}
	cycles := int(o.duration / o.turn)
	rep := &report{title: "compare", opts: o, targets: compareTargets, rounds: cycles, turns: true}
	lives, err := startTurns(o, sel)
	if err != nil {
		return nil, errors.Join(err, stopTurns(lives))
	}
	for _, lv := range lives {
		fmt.Fprintf(os.Stderr, "load: (%s) %s: %v warm-up, %d conns\n", lv.r.id, lv.r.name, o.warmup, lv.conns)
		if o.warmup > 0 {
			if _, err := drive(lv.load, lv.conns, 0, o.warmup); err != nil {
				return nil, errors.Join(fmt.Errorf("(%s) warm-up: %w", lv.r.id, err), stopTurns(lives))
			}
		}
	}
	fmt.Fprintf(os.Stderr, "load: %d cycles of %v turns\n", cycles, o.turn)
	runtime.GC()
	for k := range cycles {
		for _, lv := range roundOrder(lives, k) {
			res, err := drive(lv.load, lv.conns, 0, o.turn)
			lv.last = &row{id: lv.r.id, name: lv.r.name, round: k, res: res, err: err}
			rep.rows = append(rep.rows, lv.last)
		}
	}
	err = stopTurns(lives)
	return rep, errors.Join(rep.failed(), err)
}

// turnRow is one row of compareTurns: its running server and the load that drives it.
type turnRow struct {
	r     compareRun
	s     *server
	load  *httpLoad
	conns int
	last  *row // its last turn, whose result takes the server's note
}

func startTurns(o *options, sel []compareRun) ([]*turnRow, error) {
	run := runID()
	var lives []*turnRow
	for _, r := range sel {
		ro := *o
		ro.conns = cmp.Or(r.conns, o.conns)
		s, err := r.serve(&ro, run+r.id)
		if err != nil {
			return lives, fmt.Errorf("(%s): %w", r.id, err)
		}
		l, err := newHTTPLoad(s.base, s.pid, ro.conns, s.mix, 0)
		if err != nil {
			return lives, errors.Join(err, s.stop(nil))
		}
		lives = append(lives, &turnRow{r: r, s: s, load: l, conns: ro.conns})
	}
	return lives, nil
}

// stopTurns stops every server, noting on each row's last turn what its server says.
func stopTurns(lives []*turnRow) error {
	var errs []error
	for _, lv := range lives {
		lv.load.closeIdle()
		var res *result
		if lv.last != nil {
			res = lv.last.res
		}
		if err := lv.s.stop(res); err != nil {
			errs = append(errs, fmt.Errorf("(%s) stop: %w", lv.r.id, err))
		}
	}
	return errors.Join(errs...)
}
