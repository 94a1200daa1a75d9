package main

import (
	"math"
	"time"
)

// idleState is meterd's goroutines and open files while no request is in flight.
type idleState struct {
	goroutines, fds float64
	ssts            int      // Pebble tables on disk, each held open by Pebble's table cache
	files           []string // what the descriptors point at (Linux), to name a leak
	took            time.Duration
	settled         bool
}

// What "back to the idle baseline" allows. fasthttp stops a worker goroutine that has been
// idle for 10 s, so the baseline is the minimum over a longer window, and the wait after the
// traffic is bounded well beyond it. The slack covers a Pebble flush or compaction that may
// still be running when the traffic stops (a goroutine or two, the table it writes); Pebble
// keeps every live table open, so tables that exist now and did not at the baseline are
// allowed on top.
const (
	idleWindow     = 12 * time.Second
	idleBound      = 90 * time.Second
	idlePoll       = 500 * time.Millisecond
	goroutineSlack = 3
	fdSlack        = 2
)

// baseline measures the idle state before the traffic: the minimum of each count over
// idleWindow.
func baseline(s *sampler, pid int) (idleState, error) {
	st := idleState{goroutines: math.Inf(1), fds: math.Inf(1)}
	start := time.Now()
	for time.Since(start) < idleWindow {
		r, err := s.read()
		if err != nil {
			return st, err
		}
		st.goroutines, st.fds, st.ssts = min(st.goroutines, r.goroutines), min(st.fds, r.fds), r.sstFiles
		time.Sleep(idlePoll)
	}
	st.files, st.took, st.settled = openFiles(pid, s.data), time.Since(start), true
	return st, nil
}

// allows says whether r is back to the baseline.
func (base idleState) allows(r reading) bool {
	return r.goroutines <= base.goroutines+goroutineSlack && r.fds <= base.fdLimit(r.sstFiles)
}

func (base idleState) fdLimit(ssts int) float64 {
	return base.fds + fdSlack + float64(max(0, ssts-base.ssts))
}

// waitIdle polls until meterd is back to base or idleBound has passed, and returns the last
// state and reading seen.
func waitIdle(s *sampler, pid int, base idleState) (idleState, reading, error) {
	start := time.Now()
	for {
		r, err := s.read()
		if err != nil {
			return idleState{}, r, err
		}
		st := idleState{goroutines: r.goroutines, fds: r.fds, ssts: r.sstFiles, took: time.Since(start),
			settled: base.allows(r)}
		if st.settled || st.took >= idleBound {
			st.files = openFiles(pid, s.data)
			return st, r, nil
		}
		time.Sleep(idlePoll)
	}
}
