package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/record"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/bench/internal/groupfile"
)

// groupWriter is one way to make records durable with group commit: append blocks until an
// fdatasync covers rec. syncs returns the latency of every fdatasync so far.
type groupWriter interface {
	append(rec []byte)
	syncs() []time.Duration
	close()
}

// groupModes are the group-commit writers, each on a growing file (as a new WAL file is) or
// over one written and synced to its full size first (as a recycled one is).
var groupModes = []struct {
	name string
	open func(path string, overwrite bool) groupWriter
}{
	{"plain", openPlain},
	{"pebble", openPebble},
}

// groupCommit runs writers goroutines appending records for d through each mode, growing and
// overwriting, in rounds alternating the order.
func groupCommit(dir string, writers, rounds int, d time.Duration) {
	fmt.Printf("\ngroup commit: %d writers, %d-byte records, %v a run\n\n", writers, groupRecordSize, d)
	fmt.Println("| round | writer | file | records/s | records a sync | sync p50 µs | p99 µs | max µs |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	type run struct {
		mode      int
		overwrite bool
	}
	var runs []run
	for m := range groupModes {
		runs = append(runs, run{m, true}, run{m, false})
	}
	for r := range rounds {
		if r > 0 {
			slices.Reverse(runs) // in place: every other round in reverse order
		}
		for _, x := range runs {
			m := groupModes[x.mode]
			path := filepath.Join(dir, "group-"+m.name)
			w := m.open(path, x.overwrite)
			n := drive(w, writers, d)
			lat := w.syncs()
			w.close()
			if err := os.Remove(path); err != nil {
				log.Fatal(err)
			}
			file := "growing"
			if x.overwrite {
				file = "overwritten"
			}
			fmt.Printf("| %d | %s | %s | %.0f | %.1f | %.0f | %.0f | %.0f |\n", r+1, m.name, file,
				float64(n)/d.Seconds(), float64(n)/float64(max(len(lat), 1)), pct(lat, 50), pct(lat, 99), pct(lat, 100))
		}
	}
}

const groupRecordSize = 130 // a consume record in its WAL frame

// drive runs writers goroutines appending to w for d and returns the records made durable.
func drive(w groupWriter, writers int, d time.Duration) int64 {
	var n atomic.Int64
	rec := make([]byte, groupRecordSize)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				w.append(rec)
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load()
}

// fileSize is an overwritten run's file: written and synced whole before the run.
const fileSize = 256 << 20

// prefill is the size to create a run's file with: fileSize to overwrite, 0 to grow.
func prefill(overwrite bool) int64 {
	if overwrite {
		return fileSize
	}
	return 0
}

// plain is package groupfile's group commit, the one bench/load's row (h) uses.
type plain struct {
	g   *groupfile.File
	lat []time.Duration // appended to under g's lock
}

func openPlain(path string, overwrite bool) groupWriter {
	p := &plain{}
	g, err := groupfile.Create(path, prefill(overwrite), func(d time.Duration) { p.lat = append(p.lat, d) })
	if err != nil {
		log.Fatal(err)
	}
	p.g = g
	return p
}

func (p *plain) append(rec []byte) {
	if err := p.g.Append(rec); err != nil {
		log.Fatal(err)
	}
}

// syncs is read once the writers are done.
func (p *plain) syncs() []time.Duration { return p.lat }

func (p *plain) close() {
	if err := p.g.Close(); err != nil {
		log.Fatal(err)
	}
}

// pebbleLog is Pebble's own WAL writer (record.LogWriter) as its commit pipeline drives it:
// records copied in under a mutex, a sync requested with each, and Pebble's flusher goroutine
// writing and fdatasyncing for every request queued meanwhile. The file goes through
// Pebble's syncing wrapper with the preallocation a 4 MiB memtable's WAL gets.
type pebbleLog struct {
	w   *record.LogWriter
	mu  sync.Mutex
	sem chan struct{}
	f   *timedSync
}

func openPebble(path string, overwrite bool) groupWriter {
	g, err := groupfile.Create(path, prefill(overwrite), nil) // only to make the file
	if err == nil {
		err = g.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
	f, err := vfs.Default.ReuseForWrite(path, path, vfs.WriteCategoryUnspecified)
	if err != nil {
		log.Fatal(err)
	}
	ts := &timedSync{File: vfs.NewSyncingFile(f, vfs.SyncingFileOptions{PreallocateSize: 4 << 20 * 11 / 10})}
	p := &pebbleLog{f: ts, sem: make(chan struct{}, record.SyncConcurrency)}
	p.w = record.NewLogWriter(ts, 1, record.LogWriterConfig{
		QueueSemChan:        p.sem,
		WALMinSyncInterval:  func() time.Duration { return 0 },
		WriteWALSyncOffsets: func() bool { return true },
	})
	return p
}

func (p *pebbleLog) append(rec []byte) {
	var done sync.WaitGroup
	var err error
	done.Add(1)
	p.sem <- struct{}{} // given back by the flusher once the sync is done
	p.mu.Lock()
	_, werr := p.w.SyncRecord(rec, &done, &err)
	p.mu.Unlock()
	done.Wait()
	if werr != nil || err != nil {
		log.Fatal(werr, err)
	}
}

func (p *pebbleLog) syncs() []time.Duration { return p.f.latencies() }

func (p *pebbleLog) close() {
	if err := p.w.Close(); err != nil {
		log.Fatal(err)
	}
}

// timedSync records how long each Sync (fdatasync, through Pebble's wrapper) took.
type timedSync struct {
	vfs.File
	mu  sync.Mutex
	lat []time.Duration
}

func (t *timedSync) Sync() error {
	start := time.Now()
	err := t.File.Sync()
	took := time.Since(start)
	t.mu.Lock()
	t.lat = append(t.lat, took)
	t.mu.Unlock()
	return err
}

func (t *timedSync) latencies() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lat
}
