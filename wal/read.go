package wal

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Records calls fn for each record with from <= seq <= to, in order; to is
// clamped to LastSeq() at the time of the call, so math.MaxUint64 reads
// everything written so far. rec is only valid during the call. A range that
// reaches below FirstSeq() fails with an error wrapping ErrTruncated; damage
// found on the way is a *CorruptError. Records returns fn's first error. fn
// must not call Close. A range of the newest records is served from a copy
// kept in memory as they were appended (tail.go), without a Pebble iterator;
// damage to those on disk is then found by the next Open, not here.
func (l *Log) Records(from, to uint64, fn func(seq uint64, rec []byte) error) error {
	if err := l.readLock(); err != nil {
		return err
	}
	defer l.dbMu.RUnlock()
	from = max(from, 1)
	to = min(to, l.LastSeq())
	if from > to {
		return nil
	}
	if first := l.FirstSeq(); from < first {
		return fmt.Errorf("%w: record %d (first stored is %d)", ErrTruncated, from, first)
	}
	if served, err := l.recordsFromTail(from, to, fn); served {
		return err
	}
	// A record is stored under the key of the last seq of its group, so the
	// first key at or after from's is the group holding from.
	var lower [recordKeyLen]byte
	putRecordKey(lower[:], from)
	iter, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lower[:], UpperBound: []byte{recordPrefix + 1}})
	if err != nil {
		return fmt.Errorf("wal: read: %w", err)
	}
	defer iter.Close()
	next, err := l.readRecords(iter, from, to, fn)
	if err != nil {
		return err
	}
	if next <= to {
		return l.missing(next, "missing")
	}
	return nil
}

// recordsFromTail calls fn for from..to out of the tail, if it holds them all.
func (l *Log) recordsFromTail(from, to uint64, fn func(uint64, []byte) error) (served bool, err error) {
	sc := tailScratch.Get().(*readScratch)
	defer tailScratch.Put(sc)
	var ok bool
	sc.buf, sc.ends, ok = l.tail.read(from, to, sc.buf[:0], sc.ends[:0])
	if !ok {
		return false, nil
	}
	start := 0
	for i, end := range sc.ends {
		if err := fn(from+uint64(i), sc.buf[start:end]); err != nil {
			return true, err
		}
		start = end
	}
	return true, nil
}

// readScratch is what recordsFromTail copies records into (the tail's ring
// may be overwritten while fn runs).
type readScratch struct {
	buf  []byte
	ends []int
}

var tailScratch = sync.Pool{New: func() any { return new(readScratch) }}

// readRecords feeds fn from iter the records from want to to, which must run
// contiguously; it returns the seq after the last one read.
func (l *Log) readRecords(iter *pebble.Iterator, want, to uint64, fn func(uint64, []byte) error) (uint64, error) {
	for ok := iter.First(); ok && want <= to; ok = iter.Next() {
		last, ok := parseRecordKey(iter.Key())
		if !ok {
			return want, l.missing(want, fmt.Sprintf("missing (next stored key is %x)", iter.Key()))
		}
		v, err := iter.ValueAndErr()
		if err != nil {
			return want, fmt.Errorf("wal: read record %d: %w", want, err)
		}
		s, err := decodeStored(last, v)
		if err != nil {
			return want, &CorruptError{Dir: l.dir, Seq: want, Reason: err.Error()}
		}
		if s.first > want {
			return want, l.missing(want, fmt.Sprintf("missing (next stored record is %d)", s.first))
		}
		if err := s.each(want, to, fn); err != nil {
			return want, err
		}
		want = min(s.last, to) + 1
	}
	if err := iter.Error(); err != nil {
		return want, fmt.Errorf("wal: read record %d: %w", want, err)
	}
	return want, nil
}

// missing explains why seq was not found: a Truncate that ran meanwhile, or
// damage.
func (l *Log) missing(seq uint64, reason string) error {
	if first := l.FirstSeq(); seq < first {
		return fmt.Errorf("%w: record %d (first stored is %d)", ErrTruncated, seq, first)
	}
	return &CorruptError{Dir: l.dir, Seq: seq, Reason: reason}
}

// State calls fn for every state key, as of the last committed checkpoint, in
// key order. key and value are only valid during the call. fn must not call
// Close.
func (l *Log) State(fn func(key, value []byte) error) error {
	if err := l.readLock(); err != nil {
		return err
	}
	defer l.dbMu.RUnlock()
	iter, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{statePrefix},
		UpperBound: []byte{statePrefix + 1},
	})
	if err != nil {
		return fmt.Errorf("wal: read state: %w", err)
	}
	defer iter.Close()
	for ok := iter.First(); ok; ok = iter.Next() {
		v, err := iter.ValueAndErr()
		if err != nil {
			return fmt.Errorf("wal: read state: %w", err)
		}
		if err := fn(iter.Key()[1:], v); err != nil {
			return err
		}
	}
	if err := iter.Error(); err != nil {
		return fmt.Errorf("wal: read state: %w", err)
	}
	return nil
}
