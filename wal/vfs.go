package wal

import (
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal/datasync"
)

// DefaultFS is the file system a Log of durability d uses when Options.FS is nil: the OS's,
// and in Sync mode with the WAL files' fsyncs made by package datasync, so that a group's
// fsync does not take a P from the goroutines that could run while the disk works (only
// the WAL files: theirs are the fsyncs answers wait for). Async mode keeps the plain
// system call: there an fsync every SyncInterval pins a P for a few per cent of the time,
// measured as no change in the consumes a second (0.99x and 1.00x), while a parked fsync
// returns later under load (p50 3 ms against 0.6 ms), and Pebble's flusher holds the
// records that arrive meanwhile in its buffer, where a process kill takes them.
func DefaultFS(d Durability) vfs.FS {
	if d == Async {
		return vfs.Default
	}
	return datasync.FS(vfs.Default, isWALFile)
}

// watchFS wraps the FS given to Pebble so that an I/O error on a Pebble WAL
// file marks the log failed before Pebble itself sees the error.
//
// Why: after a failed WAL write or fsync Pebble's log writer keeps the error,
// and a later commit that meets it panics while holding Pebble's commit mutex,
// which would hang DB.Close. Every apply checks the sticky failure first,
// under applyMu, so with the failure recorded before Pebble sees it at most
// the apply already in progress can follow it, and that one cannot meet the
// error (see the pipeline comment in commit.go).
type watchFS struct {
	vfs.FS
	onErr func(error)
}

type watchFile struct {
	vfs.File
	onErr func(error)
}

func isWALFile(name string) bool { return strings.HasSuffix(name, ".log") }

func (fs watchFS) Unwrap() vfs.FS { return fs.FS }

func (fs watchFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(name, f, err)
}

func (fs watchFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(newname, f, err)
}

func (fs watchFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !isWALFile(name) {
		return f, err
	}
	return &watchFile{File: f, onErr: fs.onErr}, nil
}

func (f *watchFile) check(err error) error {
	if err != nil {
		f.onErr(err)
	}
	return err
}

func (f *watchFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.check(err)
}

func (f *watchFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	return n, f.check(err)
}

func (f *watchFile) Sync() error { return f.check(f.File.Sync()) }

func (f *watchFile) SyncData() error { return f.check(f.File.SyncData()) }

func (f *watchFile) SyncTo(length int64) (bool, error) {
	full, err := f.File.SyncTo(length)
	return full, f.check(err)
}
