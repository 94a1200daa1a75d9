package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/meterd/meterd/bench/internal/groupfile"
)

// bareSync is baseline (h): the bare handler of row (a) that, before answering, writes a
// 120-byte record (about a consume record) and waits for an fdatasync covering it, group
// committed by the simplest scheme there is (package groupfile). No decision, no Pebble, no
// metrics: the least a durable answer can cost on this HTTP stack and this disk, so the sync
// rows have a ceiling measured in the same run rather than argued.
type bareSync struct {
	*bare
	log       *groupfile.File
	dir       string
	syncTimes *histogram // how long each fdatasync took, for the row's note
}

// groupFileSize is the file the records wrap around in: written and synced whole before the
// load, so every fdatasync under load overwrites data blocks, as a recycled WAL file does.
const groupFileSize = 64 << 20

func startBareSync() (*bareSync, error) {
	dir, err := os.MkdirTemp("", "meterd-load-groupfile-")
	if err != nil {
		return nil, err
	}
	s := &bareSync{dir: dir, syncTimes: newHistogram()}
	if s.log, err = groupfile.Create(filepath.Join(dir, "log"), groupFileSize, s.syncTimes.record); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	if s.bare, err = startBareWith(loggingHandler(s.log.Append)); err != nil {
		return nil, errors.Join(err, s.log.Close(), os.RemoveAll(dir))
	}
	return s, nil
}

func (b *bareSync) stop(res *result) error {
	err := b.bare.stop()
	if res != nil {
		durable, syncs := b.log.Counts()
		res.note = fmt.Sprintf("%.1f records per fdatasync; %s", float64(durable)/float64(max(syncs, 1)), fmtSyncs(b.syncTimes))
	}
	return errors.Join(err, b.log.Close(), os.RemoveAll(b.dir))
}
