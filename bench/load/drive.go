package main

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// A load is what one row of a scenario drives: one worker per connection (or writer), each
// calling do back to back.
type load interface {
	worker(id int) (worker, error)
}

type worker interface {
	do(t *tally) // one request; counts its outcome in t
	close()
}

// tally counts the outcomes of requests. A request is one round trip (or commit); a batch
// request carries many decisions.
type tally struct {
	requests  uint64
	decisions uint64 // granted + denied decisions (one per request, except in batches)
	grants    uint64
	denies    uint64
	other     uint64 // answers that are neither a grant nor a denial (HTTP 4xx/5xx, Redis errors)
	errors    uint64 // transport errors: no answer
	firstErr  error  // first "other" or error, to say what went wrong
}

func (t *tally) add(o *tally) {
	t.requests += o.requests
	t.decisions += o.decisions
	t.grants += o.grants
	t.denies += o.denies
	t.other += o.other
	t.errors += o.errors
	if t.firstErr == nil {
		t.firstErr = o.firstErr
	}
}

// fail counts a transport error.
func (t *tally) fail(err error) {
	t.errors++
	if t.firstErr == nil {
		t.firstErr = err
	}
}

// unexpected counts an answer that is neither a grant nor a denial.
func (t *tally) unexpected(format string, args ...any) {
	t.other++
	if t.firstErr == nil {
		t.firstErr = fmt.Errorf(format, args...)
	}
}

// result is one measured row.
type result struct {
	tally
	elapsed time.Duration
	hist    *histogram
	cpu     time.Duration // CPU time used in the window, client included
	sched   string        // goroutine scheduling latency in the window
	note    string        // what the report should say about this row (a server's version)
}

func (r *result) rate() float64 { return perSecond(r.requests, r.elapsed) }

func (r *result) decisionRate() float64 { return perSecond(r.decisions, r.elapsed) }

// cpuShare is the CPU used in the window as a percentage of one core.
func (r *result) cpuShare() float64 { return 100 * r.cpu.Seconds() / r.elapsed.Seconds() }

// cpuPer is the CPU used per request (or decision) of n.
func (r *result) cpuPer(n uint64) time.Duration { return r.cpu / time.Duration(max(n, 1)) }

func perSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// drive runs conns workers of l for warmup, then measures them for d. Only requests that
// start inside the measured window count; the window is short of the last answers by at
// most one request per worker, which the rate ignores.
func drive(l load, conns int, warmup, d time.Duration) (*result, error) {
	workers, err := newWorkers(l, conns)
	if err != nil {
		return nil, err
	}
	from := time.Now().Add(warmup)
	until := from.Add(d)
	meter := meter(l, from, until)
	tallies, hists := make([]tally, conns), make([]*histogram, conns)
	var wg sync.WaitGroup
	for i, w := range workers {
		hists[i] = newHistogram()
		wg.Go(func() {
			defer w.close()
			loop(w, &tallies[i], hists[i], from, until)
		})
	}
	wg.Wait()
	r, err := merge(tallies, hists, d)
	w := <-meter
	r.cpu, r.sched = w.cpu, w.sched
	return r, err
}

// newWorkers makes conns workers of l, or none.
func newWorkers(l load, conns int) ([]worker, error) {
	workers := make([]worker, 0, conns)
	for i := range conns {
		w, err := l.worker(i)
		if err != nil {
			for _, w := range workers {
				w.close()
			}
			return nil, fmt.Errorf("worker %d: %w", i, err)
		}
		workers = append(workers, w)
	}
	return workers, nil
}

// loop is one worker's loop: unmeasured until from, measured until until.
func loop(w worker, t *tally, h *histogram, from, until time.Time) {
	var warm tally
	for {
		start := time.Now()
		if !start.Before(from) {
			break
		}
		w.do(&warm)
	}
	for {
		start := time.Now()
		if !start.Before(until) {
			break
		}
		w.do(t)
		t.requests++
		h.record(time.Since(start))
	}
}

func merge(tallies []tally, hists []*histogram, d time.Duration) (*result, error) {
	r := &result{elapsed: d, hist: newHistogram()}
	for i := range tallies {
		r.add(&tallies[i])
		r.hist.merge(hists[i])
	}
	if r.requests == 0 {
		return r, errors.New("no request completed in the measured window")
	}
	return r, nil
}
