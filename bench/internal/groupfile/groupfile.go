// Package groupfile is the simplest group commit there is, the baseline the agent's log is
// measured against (bench/load's row (h), bench/fsync's plain writer): appenders queue their
// records, and the one that finds no fdatasync in flight writes everything queued and syncs it
// for all of them, then goes on with whatever queued meanwhile. Its fdatasyncs are made as the
// agent's Sync log makes them (package wal/datasync: parked when the Ps are busy), so that the
// baseline does not lose to the agent on how a flush waits rather than on what it does.
package groupfile

import (
	"errors"
	"os"
	"sync"
	"time"

	"github.com/meterd/meterd/wal/datasync"
)

// MaxWrite is the most one write of a prefilled file may take, so that it fits before the
// file's end: room for 8,738 records of 120 bytes, where a group holds at most one a writer.
const MaxWrite = 1 << 20

// File group-commits appends to one file.
type File struct {
	f      *os.File
	size   int64               // prefilled size, writes wrapping within it; 0: the file grows
	onSync func(time.Duration) // each successful fdatasync's time, called with mu held

	mu      sync.Mutex
	synced  *sync.Cond // broadcast when a sync ends
	buf     []byte     // records queued for the next write
	spare   []byte
	off     int64
	queued  uint64 // records appended so far
	durable uint64 // records covered by a finished fdatasync
	syncing bool
	syncs   uint64
	err     error
}

// Create creates the file at path. With size > 0 the file is written and synced whole first
// and the records wrap around in it, so that every fdatasync under load overwrites data blocks,
// as in a recycled WAL file; size must then exceed MaxWrite. With size 0 the file grows with
// each write, as a new WAL file does (each fdatasync then writes the inode too). onSync, if
// not nil, gets each successful fdatasync's time.
func Create(path string, size int64, onSync func(time.Duration)) (*File, error) {
	if size != 0 && size <= MaxWrite {
		return nil, errors.New("groupfile: a prefilled file must be larger than MaxWrite")
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		if _, err = f.WriteAt(make([]byte, size), 0); err == nil {
			err = f.Sync()
		}
		if err != nil {
			return nil, errors.Join(err, f.Close())
		}
	}
	g := &File{f: f, size: size, onSync: onSync}
	g.synced = sync.NewCond(&g.mu)
	return g, nil
}

// Append returns once an fdatasync that covers rec has returned; a failed write or sync fails
// every Append from then on.
func (g *File) Append(rec []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, rec...)
	g.queued++
	mine := g.queued
	for g.durable < mine && g.err == nil {
		if g.syncing {
			g.synced.Wait()
			continue
		}
		g.syncing = true
		buf, upTo, off := g.buf, g.queued, g.off
		g.buf, g.spare = g.spare[:0], buf
		g.off += int64(len(buf))
		if g.size > 0 {
			g.off %= g.size - MaxWrite
		}
		g.mu.Unlock()
		_, err := g.f.WriteAt(buf, off)
		var took time.Duration
		if err == nil {
			start := time.Now()
			err = datasync.Fdatasync(g.f.Fd())
			took = time.Since(start)
		}
		g.mu.Lock()
		g.syncing, g.durable, g.err = false, upTo, err
		g.synced.Broadcast()
		g.syncs++
		if err == nil && g.onSync != nil {
			g.onSync(took)
		}
		if g.queued > g.durable {
			// Go on with what queued meanwhile rather than wake a follower to do it: in
			// three alternating pairs of bench/load runs this gave 4-26 % more answers a
			// second than handing over.
			mine = g.queued
		}
	}
	return g.err
}

// Counts returns the records made durable and the fdatasyncs that did it.
func (g *File) Counts() (durable, syncs uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.durable, g.syncs
}

// Name is the file's path.
func (g *File) Name() string { return g.f.Name() }

// Close closes the file (it stays on disk).
func (g *File) Close() error { return g.f.Close() }
