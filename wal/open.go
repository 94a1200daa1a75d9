package wal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Open opens or creates the log in dir. It fails closed: stored records must
// form one contiguous run right after the truncation mark, every frame must
// decode, and the checkpoint must lie within [truncation mark, last record];
// otherwise Open returns a *CorruptError naming dir and the seq.
func Open(dir string, opts Options) (*Log, error) {
	if err := opts.ensureDefaults(); err != nil {
		return nil, err
	}
	l := &Log{
		dir:     dir,
		opts:    opts,
		syncQ:   make(chan *group, maxAsyncSyncs),
		stopped: make(chan struct{}),
		durable: make(chan struct{}, 1),
		flight:  make(chan struct{}, 1),
		tail:    newTail(),
	}
	fs := watchFS{FS: opts.FS, onErr: func(err error) { l.fail(err) }}
	db, err := pebble.Open(dir, l.pebbleOptions(fs))
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	l.db = db
	if err := l.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	go l.syncLoop()
	return l, nil
}

// load reads the meta keys, validates the stored records and sets the
// sequence counters.
func (l *Log) load() error {
	version, found, err := l.getMeta(metaVersion)
	if err != nil {
		return err
	}
	checkpoint, _, err := l.getMeta(metaCheckpoint)
	if err != nil {
		return err
	}
	truncated, _, err := l.getMeta(metaTruncated)
	if err != nil {
		return err
	}
	last, err := l.scanRecords(truncated)
	if err != nil {
		return err
	}
	if err := l.checkVersion(version, found); err != nil {
		return err
	}
	if err := l.checkMarks(truncated, checkpoint, last); err != nil {
		return err
	}
	l.mu.next = last + 1
	l.lastSeq.Store(last)
	l.durableSeq.Store(last) // replayed from synced (or at least OS-written) data
	l.checkpointSeq.Store(checkpoint)
	l.firstSeq.Store(truncated + 1)
	return nil
}

func (l *Log) checkVersion(version uint64, found bool) error {
	switch {
	case found && version == formatVersion:
		return nil
	case found && version != formatVersionV1:
		return fmt.Errorf("wal: %s: unsupported format version %d (want %d)", l.dir, version, formatVersion)
	case !found:
		empty, err := l.empty()
		if err != nil {
			return err
		}
		if !empty {
			return &CorruptError{Dir: l.dir, Reason: "data without a format version"}
		}
	}
	err := l.db.Set(metaVersion, encodeUint64(formatVersion), pebble.Sync)
	if err != nil {
		return fmt.Errorf("wal: %s: write format version: %w", l.dir, err)
	}
	return nil
}

// checkMarks checks truncated <= checkpoint <= last: a checkpoint below the
// truncation mark lost records it does not cover; one above the last record
// covers records that are gone.
func (l *Log) checkMarks(truncated, checkpoint, last uint64) error {
	if truncated > checkpoint {
		return &CorruptError{Dir: l.dir, Seq: checkpoint + 1, Reason: fmt.Sprintf(
			"truncated through %d but the checkpoint is at %d", truncated, checkpoint)}
	}
	if checkpoint > last {
		return &CorruptError{Dir: l.dir, Seq: last + 1, Reason: fmt.Sprintf(
			"missing: the checkpoint is at %d", checkpoint)}
	}
	return nil
}

// scanRecords reads every stored record, checking that they run contiguously
// from truncated+1 and that each frame decodes; it returns the last seq. Only
// the first stored group may begin at or below the truncation mark: Truncate
// deletes whole groups.
func (l *Log) scanRecords(truncated uint64) (uint64, error) {
	iter, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{recordPrefix},
		UpperBound: []byte{recordPrefix + 1},
	})
	if err != nil {
		return 0, fmt.Errorf("wal: %s: scan: %w", l.dir, err)
	}
	defer iter.Close()
	want := truncated + 1
	for ok := iter.First(); ok; ok = iter.Next() {
		s, err := l.checkStored(iter, want, want == truncated+1)
		if err != nil {
			return 0, err
		}
		want = s.last + 1
	}
	if err := iter.Error(); err != nil {
		return 0, fmt.Errorf("wal: %s: scan: %w", l.dir, err)
	}
	return want - 1, nil
}

// checkStored checks that iter is at a valid frame holding record want: at
// its start, or anywhere in it for the first group after the truncation mark.
func (l *Log) checkStored(iter *pebble.Iterator, want uint64, atMark bool) (stored, error) {
	last, ok := parseRecordKey(iter.Key())
	if !ok {
		return stored{}, &CorruptError{Dir: l.dir, Seq: want, Reason: fmt.Sprintf("malformed record key %x", iter.Key())}
	}
	v, err := iter.ValueAndErr()
	if err != nil {
		return stored{}, fmt.Errorf("wal: %s: record %d: %w", l.dir, want, err)
	}
	s, err := decodeStored(last, v)
	switch {
	case err != nil:
		return stored{}, &CorruptError{Dir: l.dir, Seq: want, Reason: err.Error()}
	case s.last < want:
		return stored{}, &CorruptError{Dir: l.dir, Seq: s.first, Reason: fmt.Sprintf("stored below the truncation mark %d", want-1)}
	case s.first > want:
		return stored{}, &CorruptError{Dir: l.dir, Seq: want, Reason: fmt.Sprintf("missing (next stored record is %d)", s.first)}
	case s.first < want && !atMark:
		return stored{}, &CorruptError{Dir: l.dir, Seq: s.first, Reason: fmt.Sprintf("stored twice (a group of %d to %d overlaps the one before)", s.first, s.last)}
	}
	return s, nil
}

// getMeta reads a meta key; a missing key is 0, not found.
func (l *Log) getMeta(key []byte) (v uint64, found bool, err error) {
	val, closer, err := l.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("wal: %s: read %s: %w", l.dir, key, err)
	}
	defer closer.Close()
	if len(val) != 8 {
		return 0, false, &CorruptError{Dir: l.dir, Reason: fmt.Sprintf("meta key %s holds %d bytes, want 8", key, len(val))}
	}
	return binary.BigEndian.Uint64(val), true, nil
}

// empty reports whether the database holds no key at all.
func (l *Log) empty() (bool, error) {
	iter, err := l.db.NewIter(nil)
	if err != nil {
		return false, err
	}
	empty := !iter.First()
	return empty, errors.Join(iter.Error(), iter.Close())
}
