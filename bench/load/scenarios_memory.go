package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// memSample is the process and the log after some number of decisions.
type memSample struct {
	decisions uint64
	at        time.Duration
	rss       int64  // VmRSS, bytes
	heap      uint64 // live and unswept heap objects, bytes
	wal       int64  // bytes under DATA_DIR/wal
	walFiles  int
}

// memory runs o.decisions consumes through an in-process Engine (DURABILITY = sync, usage
// database on) from o.conns goroutines and samples RSS and the WAL directory every million.
// Once truncation runs, the log must stop growing: that is the check.
func memory(o *options) (*report, error) {
	a, err := startAgent(config.DurabilitySync, true)
	if err != nil {
		return nil, err
	}
	samples, res, err := memoryRun(o, a.InProcess)
	start := time.Now()
	err = errors.Join(err, a.Stop())
	closeTook := time.Since(start)
	if res == nil {
		return nil, err
	}
	rep := &report{title: "memory", opts: o, decisions: true, table: memTable(samples),
		rows:   []*row{{id: "memory", name: "meterd sync Engine.Consume", res: res, err: err}},
		checks: memChecks(samples), notes: []string{fmt.Sprintf("stopping (Engine.Close: final export and checkpoint) took %v", closeTook.Round(time.Millisecond))}}
	return rep, err
}

// memoryRun provisions over HTTP, then drives the engine without it.
func memoryRun(o *options, a *harness.InProcess) ([]memSample, *result, error) {
	run := runID()
	owner := "organizations/bench-" + run
	c, err := a.Client(client.Options{})
	if err != nil {
		return nil, nil, err
	}
	items, err := provision(c, owner, run, o.licenses)
	c.CloseIdle()
	if err != nil {
		return nil, nil, err
	}
	e, walDir := a.Engine(), filepath.Join(a.Dir, "wal")
	fmt.Fprintf(os.Stderr, "load: memory: %d decisions, %d goroutines, sample every %d\n", o.decisions, o.conns, o.sampleEvery)
	start := time.Now()
	marks := make(chan uint64, o.decisions/o.sampleEvery+1)
	var samples []memSample
	var sampler sync.WaitGroup
	sampler.Go(func() {
		samples = append(samples, sample(0, 0, walDir))
		for n := range marks {
			samples = append(samples, sample(n, time.Since(start), walDir))
			fmt.Fprintf(os.Stderr, "load: memory: %d decisions\n", n)
		}
	})
	res, err := driveCount(&engineLoad{e: e, mix: newMix(o, owner, run, items)}, o.conns, uint64(o.decisions),
		uint64(o.sampleEvery), func(n uint64) { marks <- n })
	close(marks)
	sampler.Wait()
	return samples, res, err
}

// driveCount runs conns workers of l until total requests have been sent, calling mark after
// every every-th.
func driveCount(l load, conns int, total, every uint64, mark func(n uint64)) (*result, error) {
	workers, err := newWorkers(l, conns)
	if err != nil {
		return nil, err
	}
	var next atomic.Uint64
	tallies, hists := make([]tally, conns), make([]*histogram, conns)
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for i, w := range workers {
		hists[i] = newHistogram()
		wg.Go(func() {
			defer w.close()
			for n := next.Add(1); n <= total; n = next.Add(1) {
				t := time.Now()
				w.do(&tallies[i])
				tallies[i].requests++
				hists[i].record(time.Since(t))
				if n%every == 0 {
					mark(n)
				}
			}
		})
	}
	wg.Wait()
	r, err := merge(tallies, hists, time.Since(start))
	r.cpu = processCPU() - cpu
	return r, err
}

func sample(n uint64, at time.Duration, walDir string) memSample {
	s := memSample{decisions: n, at: at, rss: vmRSS()}
	m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(m)
	s.heap = m[0].Value.Uint64()
	s.wal, s.walFiles = dirSize(walDir)
	return s
}

// vmRSS reads the resident set size from /proc/self/status; -1 where there is none.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// dirSize adds up the files under dir. Pebble deletes files while it runs, so a file that
// vanishes between the listing and its stat counts as nothing.
func dirSize(dir string) (int64, int) {
	var size int64
	var files int
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			size += fi.Size()
			files++
		}
		return nil
	})
	return size, files
}

func memTable(samples []memSample) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "decisions\telapsed\tdecisions/s\tRSS MiB\theap MiB\tWAL MiB\tWAL files\t")
	for i, s := range samples {
		rate := "-"
		if i > 0 {
			p := samples[i-1]
			rate = fmt.Sprintf("%.0f", perSecond(s.decisions-p.decisions, s.at-p.at))
		}
		fmt.Fprintf(tw, "%d\t%v\t%s\t%.1f\t%.1f\t%.1f\t%d\t\n", s.decisions, s.at.Round(time.Millisecond), rate,
			mib(s.rss), mib(int64(s.heap)), mib(s.wal), s.walFiles)
	}
	tw.Flush()
	return b.String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// memChecks says whether the WAL directory and RSS level off: the largest value over the
// second half of the run must stay within 1.5× of the largest over the first half. A
// quantity that grows linearly with decisions doubles from one half to the other.
func memChecks(samples []memSample) []check {
	if len(samples) < 5 {
		return []check{{what: "plateau", skipped: "fewer than 4 samples; raise -decisions"}}
	}
	s := samples[1:]
	half := len(s) / 2
	f := func(what string, v func(memSample) int64) check {
		first, second := maxOf(s[:half], v), maxOf(s[half:], v)
		ratio := float64(second) / float64(max(first, 1))
		return check{what: what, got: fmt.Sprintf("%.2f (%.1f → %.1f MiB)", ratio, mib(first), mib(second)),
			want: "≤ 1.50", pass: ratio <= 1.5}
	}
	return []check{
		f("WAL size, max of 2nd half / max of 1st half", func(m memSample) int64 { return m.wal }),
		f("RSS, max of 2nd half / max of 1st half", func(m memSample) int64 { return m.rss }),
	}
}

func maxOf(s []memSample, v func(memSample) int64) int64 {
	var m int64
	for _, x := range s {
		m = max(m, v(x))
	}
	return m
}
