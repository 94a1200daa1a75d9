package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time tells a row bound by the processors (CPU near 100 % × cores) from one bound by
// waiting (fsyncs, round trips), and CPU per request says what one request costs, client
// included: the load runs in this process.

// cpuUser is a load whose server runs in another process, whose CPU time counts too.
type cpuUser interface {
	serverCPU() time.Duration
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU is the user and system time of process pid, from /proc/PID/stat (clock ticks of
// 1/100 s, as on every Linux this runs on); 0 when unreadable.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// window is what the meter saw between from and until.
type window struct {
	cpu   time.Duration
	sched string
}

// meter samples the CPU time of this process (and l's server) and the scheduling latency of
// its goroutines at from and at until.
func meter(l load, from, until time.Time) <-chan window {
	out := make(chan window, 1)
	go func() {
		time.Sleep(time.Until(from))
		cpu, sched := totalCPU(l), readSched()
		time.Sleep(time.Until(until))
		out <- window{cpu: totalCPU(l) - cpu, sched: readSched().since(sched)}
	}()
	return out
}

func totalCPU(l load) time.Duration {
	t := processCPU()
	if s, ok := l.(cpuUser); ok {
		t += s.serverCPU()
	}
	return t
}
