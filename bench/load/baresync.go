package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// bareSync is baseline (h): the bare handler of row (a) that, before answering, writes a
// 120-byte record (about a consume record) and waits for an fdatasync covering it, group
// committed by the simplest scheme there is: one fdatasync in flight, and its caller goes on
// to write and sync whatever queued meanwhile. No decision, no Pebble, no metrics: the least
// a durable answer can cost on this HTTP stack and this disk, so the sync rows have a ceiling
// measured in the same run rather than argued.
type bareSync struct {
	*bare
	log *groupFile
}

func startBareSync() (*bareSync, error) {
	g, err := openGroupFile()
	if err != nil {
		return nil, err
	}
	b, err := startBareWith(loggingHandler(g.append))
	if err != nil {
		return nil, errors.Join(err, g.close())
	}
	return &bareSync{bare: b, log: g}, nil
}

func (b *bareSync) stop(res *result) error {
	err := b.bare.stop()
	if res != nil {
		g := b.log
		g.mu.Lock()
		res.note = fmt.Sprintf("%.1f records per fdatasync; %s", float64(g.durable)/float64(max(g.syncs, 1)), fmtSyncs(g.syncTimes))
		g.mu.Unlock()
	}
	return errors.Join(err, b.log.close())
}

// groupFileSize is the file the records wrap around in: written and synced whole before the
// load, so every fdatasync under load overwrites data blocks, as a recycled WAL file does.
const groupFileSize = 64 << 20

// groupFile group-commits appends to a preallocated file.
type groupFile struct {
	f   *os.File
	dir string

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
	// syncTimes is how long each fdatasync took, for the row's note.
	syncTimes *histogram
}

func openGroupFile() (*groupFile, error) {
	dir, err := os.MkdirTemp("", "meterd-load-groupfile-")
	if err != nil {
		return nil, err
	}
	f, err := os.Create(dir + "/log")
	if err == nil {
		err = f.Truncate(groupFileSize)
	}
	if err == nil {
		_, err = f.WriteAt(make([]byte, groupFileSize), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	g := &groupFile{f: f, dir: dir, syncTimes: newHistogram()}
	g.synced = sync.NewCond(&g.mu)
	return g, nil
}

// append returns once an fdatasync that covers rec has returned.
func (g *groupFile) append(rec []byte) error {
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
		g.off = (off + int64(len(buf))) % (groupFileSize - maxGroupWrite)
		g.mu.Unlock()
		_, err := g.f.WriteAt(buf, off)
		var took time.Duration
		if err == nil {
			start := time.Now()
			err = unix.Fdatasync(int(g.f.Fd()))
			took = time.Since(start)
		}
		g.mu.Lock()
		g.syncing, g.durable, g.err = false, upTo, err
		g.synced.Broadcast()
		g.syncs++
		if err == nil {
			g.syncTimes.record(took)
		}
		if g.queued > g.durable {
			// Go on with what queued meanwhile rather than wake a follower to do it: in
			// three alternating pairs of runs this gave 4-26 % more answers a second than
			// handing over.
			mine = g.queued
		}
	}
	return g.err
}

// maxGroupWrite keeps a group's write inside the file: room for 8,738 records, where a group
// holds at most one a connection.
const maxGroupWrite = 1 << 20

func (g *groupFile) close() error {
	return errors.Join(g.f.Close(), os.RemoveAll(g.dir))
}
