package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/meterd/meterd/wal"
)

// bareWAL is baselines (i), (j) and (k): the bare handler of row (a) that, before answering,
// appends a 120-byte record through meterd's own write-ahead log (Pebble), in async or sync
// mode. No decision, no JSON, no usage database, no metrics, no Host guard: what the HTTP
// stack and the log cost together, so that what meterd's other work adds to a row is the
// difference to this one, measured in the same run. The log's file system times its
// fdatasyncs (and, for (k), keeps Pebble from recycling WAL files: see timedFS).
type bareWAL struct {
	*bare
	log *wal.Log
	dir string
	fs  timedFS
}

func startBareWAL(d wal.Durability, recycle bool) (*bareWAL, error) {
	dir, err := os.MkdirTemp("", "meterd-load-barewal-")
	if err != nil {
		return nil, err
	}
	fs := newTimedFS(recycle, d)
	l, err := wal.Open(dir, wal.Options{Durability: d, FS: fs})
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	b, err := startBareWith(loggingHandler(func(rec []byte) error {
		_, err := l.Append(rec)
		return err
	}))
	if err != nil {
		return nil, errors.Join(err, l.Close(), os.RemoveAll(dir))
	}
	return &bareWAL{bare: b, log: l, dir: dir, fs: fs}, nil
}

func (b *bareWAL) stop(res *result) error {
	err := b.bare.stop()
	if res != nil {
		res.note = fmt.Sprintf("%d records; %s", b.log.LastSeq(), b.fs.syncs.summary())
	}
	return errors.Join(err, b.log.Close(), os.RemoveAll(b.dir))
}

func serveBareWAL(d wal.Durability, recycle bool) func(*options, string) (*server, error) {
	return func(o *options, run string) (*server, error) {
		b, err := startBareWAL(d, recycle)
		if err != nil {
			return nil, err
		}
		return &server{base: b.base, mix: bareMix(o, run), stop: b.stop}, nil
	}
}
