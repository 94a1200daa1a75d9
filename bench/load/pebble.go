package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleLoad is baseline (d): each writer commits a batch of one key and a 120-byte value
// (about a consume record) with pebble.Sync, so Pebble's own commit pipeline groups the
// fsyncs of concurrent writers. It is the durable-write ceiling meterd's WAL is built on.
type pebbleLoad struct {
	db    *pebble.DB
	dir   string
	keys  atomic.Uint64
	value []byte
}

func openPebble() (*pebbleLoad, error) {
	dir, err := os.MkdirTemp("", "meterd-load-pebble-")
	if err != nil {
		return nil, err
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &pebbleLoad{db: db, dir: dir, value: make([]byte, 120)}, nil
}

func (p *pebbleLoad) close() error {
	return errors.Join(p.db.Close(), os.RemoveAll(p.dir))
}

func (p *pebbleLoad) worker(int) (worker, error) { return pebbleWorker{p}, nil }

type pebbleWorker struct{ p *pebbleLoad }

func (w pebbleWorker) do(t *tally) {
	var key [9]byte
	key[0] = 'r'
	binary.BigEndian.PutUint64(key[1:], w.p.keys.Add(1))
	b := w.p.db.NewBatch()
	defer b.Close()
	if err := b.Set(key[:], w.p.value, nil); err != nil {
		t.fail(err)
		return
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.fail(err)
		return
	}
	t.grants++
	t.decisions++
}

func (pebbleWorker) close() {}

// quietPebble keeps Pebble's informational messages off the table.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: fatal: "+format, args...))
}
