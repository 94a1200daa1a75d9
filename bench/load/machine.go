package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine is what a reader of a result needs to know about where it was measured. Load
// averages before and after tell a quiet run from one shared with other work.
type machine struct {
	cpus       int
	model      string
	gomaxprocs int
	goVersion  string
	loadBefore string
	loadAfter  string
	started    time.Time
	took       time.Duration
}

func machineFacts() *machine {
	return &machine{cpus: runtime.NumCPU(), model: cpuModel(), gomaxprocs: runtime.GOMAXPROCS(0),
		goVersion:  runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		loadBefore: loadAverage(), started: time.Now()}
}

func (m *machine) finish() {
	m.loadAfter, m.took = loadAverage(), time.Since(m.started).Round(time.Second)
}

func (m *machine) String() string {
	return fmt.Sprintf("Machine: %d CPUs (%s), GOMAXPROCS %d, %s; load average %s before, %s after; took %v.",
		m.cpus, m.model, m.gomaxprocs, m.goVersion, m.loadBefore, m.loadAfter, m.took)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage is the 1, 5 and 15 minute load average, as uptime prints it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
