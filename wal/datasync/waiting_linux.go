package datasync

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// worthParking reports whether a flush should leave its P to others now: the process has
// kept most of its Ps busy lately, and a goroutine is ready to run without one.
//
// Both are needed. Goroutines wait for a P at most flushes in any group commit (the
// group's appenders, woken by the flush before), also when they need a few microseconds
// each and the other P clears them well within the flush: driving the engine without
// HTTP at 64 writers found some runnable at about 80 % of its flushes while using 69-79 % of
// one P in two, and parking every such flush cost it 12 % of its consumes a second.
// Under HTTP load at 64 connections the process used 145-165 % of two, and parking gave
// 1.10x. The CPU time says whether the work that waits is worth a P.
func worthParking() bool {
	return recentlyBusy() && othersRunnable()
}

// busyShare is the share of GOMAXPROCS the process's CPU time must have filled over the
// last window for parking to pay; between the measured loads (0.35-0.40 and 0.72-0.83).
const busyShare = 0.6

// busyWindow is the shortest span the CPU time is measured over: one getrusage per window,
// about 1 µs, whatever the flush rate.
const busyWindow = 20 * time.Millisecond

var busy struct {
	mu  sync.Mutex
	at  time.Time     // start of the current window
	cpu time.Duration // the process's CPU time then
	yes bool          // the last window's verdict
}

func recentlyBusy() bool {
	now := time.Now()
	busy.mu.Lock()
	defer busy.mu.Unlock()
	if elapsed := now.Sub(busy.at); elapsed >= busyWindow {
		var ru unix.Rusage
		if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
			return false
		}
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if !busy.at.IsZero() {
			busy.yes = float64(cpu-busy.cpu) >= busyShare*float64(runtime.GOMAXPROCS(0))*float64(elapsed)
		}
		busy.at, busy.cpu = now, cpu
	}
	return busy.yes
}

const runnableMetric = "/sched/goroutines/runnable:goroutines"

// samples holds one-sample slices for metrics.Read, which fills a caller's slice; a pool
// keeps concurrent flushes (different files) from sharing one.
var samples = sync.Pool{New: func() any {
	return &[1]metrics.Sample{{Name: runnableMetric}}
}}

// othersRunnable reports whether a goroutine is ready to run but has no P. The runtime's
// count is approximate (it reads the run queues without stopping them), which is enough
// for a choice that is only about speed. About 0.1 µs.
func othersRunnable() bool {
	s := samples.Get().(*[1]metrics.Sample)
	metrics.Read(s[:])
	n := uint64(0)
	if s[0].Value.Kind() == metrics.KindUint64 {
		n = s[0].Value.Uint64()
	}
	samples.Put(s)
	return n > 0
}
