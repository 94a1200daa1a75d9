package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meterd/meterd/core/client"
)

// reading is one sample of meterd's /metrics and data directory.
type reading struct {
	at                 time.Time
	heapInuse          float64 // go_memstats_heap_inuse_bytes
	heapGoal           float64 // go_memstats_next_gc_bytes: the GC's target, proportional to the heap the last GC kept
	goroutines, fds    float64
	lag                float64 // meterd_usage_export_lag_actions
	idemKeys, sessions float64
	requests, fivexx   float64 // meterd_requests_total, all and 5xx
	unread             float64 // meterd_requests_total{route="other"}: requests meterd could not read or route
	cpu                float64 // process_cpu_seconds_total
	stateBytes         int64   // the data directory without the usage database: Pebble's state and log
	usageBytes         int64   // usage.db and its -wal and -shm, which grow with every row by design
	sstFiles           int     // Pebble tables, which Pebble keeps open
}

// sampler reads meterd's metrics on a connection of its own that it does not keep open, so
// that it adds nothing to the goroutines and sockets it measures between readings.
type sampler struct {
	c    *client.Client
	data string

	mu       sync.Mutex
	readings []reading
	errs     int
	lastErr  error
}

func newSampler(base, data string) (*sampler, error) {
	c, err := client.New(base, client.Options{Attempts: 1, DisableKeepAlives: true, Timeout: 10 * time.Second})
	return &sampler{c: c, data: data}, err
}

// read takes one reading.
func (s *sampler) read() (reading, error) {
	body, err := s.c.Metrics(context.Background())
	if err != nil {
		return reading{}, err
	}
	m, err := parseMetrics(body)
	if err != nil {
		return reading{}, err
	}
	r := reading{at: time.Now()}
	if err := r.fill(m); err != nil {
		return reading{}, err
	}
	r.stateBytes, r.usageBytes, r.sstFiles, err = dirSize(s.data)
	return r, err
}

// fill copies the families the checks use; a missing one is an error, not a zero.
func (r *reading) fill(m scrape) error {
	for _, f := range []struct {
		name string
		dst  *float64
	}{
		{"go_memstats_heap_inuse_bytes", &r.heapInuse}, {"go_memstats_next_gc_bytes", &r.heapGoal},
		{"go_goroutines", &r.goroutines}, {"process_open_fds", &r.fds}, {"process_cpu_seconds_total", &r.cpu},
		{"meterd_usage_export_lag_actions", &r.lag}, {"meterd_idempotency_keys", &r.idemKeys},
		{"meterd_sessions_open", &r.sessions}, {"meterd_requests_total", &r.requests},
	} {
		v, ok := m.value(f.name)
		if !ok {
			return fmt.Errorf("soak: /metrics has no %s", f.name)
		}
		*f.dst = v
	}
	r.fivexx, _ = m.sum("meterd_requests_total", is5xx)
	r.unread, _ = m.sum("meterd_requests_total", func(l map[string]string) bool { return l["route"] == "other" })
	return nil
}

// dirSize walks the data directory: the usage database apart, everything else as state.
func dirSize(dir string) (state, usage int64, ssts int, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // Pebble deleted it while we walked
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if os.IsNotExist(err) {
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(d.Name(), "usage.db"):
			usage += info.Size()
		default:
			state += info.Size()
		}
		if strings.HasSuffix(d.Name(), ".sst") {
			ssts++
		}
		return nil
	})
	return state, usage, ssts, err
}

// run takes a reading every period until ctx ends. Failed readings are counted: every one is
// a failure of the soak, since a check cannot pass on readings that were not taken.
func (s *sampler) run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		s.take()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *sampler) take() {
	r, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs++
		s.lastErr = err
		return
	}
	s.readings = append(s.readings, r)
}

func (s *sampler) all() ([]reading, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]reading(nil), s.readings...), s.errs, s.lastErr
}

// openFiles lists what meterd's file descriptors point at, with paths made relative to the
// data directory and socket and pipe inode numbers dropped, so that two lists can be diffed.
// It is Linux only; elsewhere it returns nil.
func openFiles(pid int, data string) []string {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed while we read
		}
		if i := strings.Index(target, ":["); i > 0 {
			target = target[:i] // socket:[123] → socket
		}
		if rel, err := filepath.Rel(data, target); err == nil && !strings.HasPrefix(rel, "..") {
			target = "DATA_DIR/" + rel
		}
		out = append(out, target)
	}
	sort.Strings(out)
	return out
}

// extra is what is in b but not in a, as multisets.
func extra(a, b []string) []string {
	have := map[string]int{}
	for _, x := range a {
		have[x]++
	}
	var out []string
	for _, x := range b {
		if have[x] > 0 {
			have[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

// writeCSV saves the readings, one line each, for a closer look at a run kept with -keep.
func writeCSV(path string, start time.Time, rs []reading) error {
	var b strings.Builder
	b.WriteString("seconds,heap_inuse,heap_goal,goroutines,fds,lag,sessions,requests,fivexx,unread,cpu,state_bytes,usage_bytes,ssts\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "%.1f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.2f,%d,%d,%d\n", r.at.Sub(start).Seconds(),
			r.heapInuse, r.heapGoal, r.goroutines, r.fds, r.lag, r.sessions, r.requests, r.fivexx, r.unread, r.cpu,
			r.stateBytes, r.usageBytes, r.sstFiles)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
