package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

// timedFS is the file system every compare row on a Pebble log gives it (the agent's rows and
// (i), (j), (k)), over the one a log of that durability uses by default (wal.DefaultFS): it
// times every sync of a Pebble WAL file, so a row can say what an fdatasync took under its
// load, and with recycle off (row (k)) it stops Pebble from reusing old WAL files. Pebble v2
// has no switch for that: it keeps as many old WAL files for reuse as
// MemTableStopWritesThreshold allows. ReuseForWrite's contract lets a file system remove the
// old file and create a fresh one instead, which is what this one does, so every WAL file
// starts empty and each fsync may also have to extend it, as on a file system where reuse is
// impossible.
type timedFS struct {
	vfs.FS
	recycle bool
	syncs   *syncTimes
}

// syncTimes collects sync durations from Pebble's flusher goroutine and anyone else syncing.
type syncTimes struct {
	mu sync.Mutex
	h  *histogram
}

func (s *syncTimes) record(d time.Duration) {
	s.mu.Lock()
	s.h.record(d)
	s.mu.Unlock()
}

// summary is "N fdatasyncs, p50 X, p99 Y", over the WAL files' syncs.
func (s *syncTimes) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmtSyncs(s.h)
}

func newTimedFS(recycle bool, d wal.Durability) timedFS {
	return timedFS{FS: wal.DefaultFS(d), recycle: recycle, syncs: &syncTimes{h: newHistogram()}}
}

func (fs timedFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(name, f, err)
}

func (fs timedFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if fs.recycle {
		f, err := fs.FS.ReuseForWrite(oldname, newname, category)
		return fs.wrap(newname, f, err)
	}
	if err := fs.FS.Remove(oldname); err != nil {
		return nil, err
	}
	return fs.Create(newname, category)
}

func (fs timedFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return timedFile{File: f, syncs: fs.syncs}, nil
}

type timedFile struct {
	vfs.File
	syncs *syncTimes
}

func (f timedFile) Sync() error { return f.timed(f.File.Sync) }

func (f timedFile) SyncData() error { return f.timed(f.File.SyncData) }

func (f timedFile) SyncTo(length int64) (full bool, err error) {
	err = f.timed(func() error { full, err = f.File.SyncTo(length); return err })
	return full, err
}

// timed runs one sync of the file and records how long it took, if it succeeded (as row (h)
// does: a failed sync is no fdatasync's time).
func (f timedFile) timed(sync func() error) error {
	start := time.Now()
	err := sync()
	if err == nil {
		f.syncs.record(time.Since(start))
	}
	return err
}

func fmtSyncs(h *histogram) string {
	return fmt.Sprintf("%d fdatasyncs, p50 %s, p99 %s", h.total, fmtLatency(h.quantile(0.5)), fmtLatency(h.quantile(0.99)))
}
