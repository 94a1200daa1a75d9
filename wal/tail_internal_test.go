package wal

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestTailServesWhatWasPut puts records of every size into small rings (so that they wrap,
// fill their entries and meet records too large to keep) and checks after each put that every
// range the tail claims to hold reads back exactly what was put, that it holds the newest
// records, and that it refuses any range reaching outside what it holds.
func TestTailServesWhatWasPut(t *testing.T) {
	for _, size := range []struct{ bytes, records int }{{1 << 10, 16}, {4 << 10, 1 << 10}, {300, 64}} {
		t.Run(fmt.Sprintf("%dB-%drecords", size.bytes, size.records), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(size.bytes)))
			tl := newTailSized(size.bytes, size.records)
			put := map[uint64][]byte{}
			runStart := uint64(1) // the first seq since the last record too large to keep
			for seq := uint64(1); seq <= 5000; seq++ {
				n := rng.IntN(size.bytes / 5)
				if rng.IntN(50) == 0 {
					n = size.bytes/4 + 1 + rng.IntN(10) // too large: breaks the run
				}
				if rng.IntN(20) == 0 {
					n = 0
				}
				rec := make([]byte, n)
				for i := range rec {
					rec[i] = byte(seq) ^ byte(i)
				}
				put[seq] = rec
				tl.putGroup(seq, appendGroupRecord(nil, rec), 1)
				if n > size.bytes/4 {
					runStart = seq + 1
					if tl.n != 0 {
						t.Fatalf("seq %d: a record of %d bytes kept, or the run before it still held", seq, n)
					}
					continue
				}
				if tl.n == 0 || tl.first+uint64(tl.n)-1 != seq || tl.first < runStart {
					t.Fatalf("seq %d: tail holds %d..%d, want a run ending at %d starting no earlier than %d",
						seq, tl.first, tl.first+uint64(tl.n)-1, seq, runStart)
				}
				checkTail(t, tl, put, seq)
			}
		})
	}
}

// checkTail reads random ranges of what tl holds, and the ranges around it, after seq was put.
func checkTail(t *testing.T, tl *tail, put map[uint64][]byte, seq uint64) {
	t.Helper()
	lo, hi := tl.first, tl.first+uint64(tl.n)-1
	for range 3 {
		a := lo + uint64(rand.IntN(int(hi-lo+1)))
		b := a + uint64(rand.IntN(int(hi-a+1)))
		buf, ends, ok := tl.read(a, b, nil, nil)
		if !ok || len(ends) != int(b-a+1) {
			t.Fatalf("after %d: read %d..%d of a tail holding %d..%d: ok %v, %d records", seq, a, b, lo, hi, ok, len(ends))
		}
		start := 0
		for i, end := range ends {
			if got, want := buf[start:end], put[a+uint64(i)]; !bytes.Equal(got, want) {
				t.Fatalf("after %d: record %d reads %x, was put as %x", seq, a+uint64(i), got, want)
			}
			start = end
		}
	}
	if _, _, ok := tl.read(lo-1, hi, nil, nil); ok && lo > 1 {
		t.Fatalf("after %d: read from %d, below the oldest held (%d)", seq, lo-1, lo)
	}
	if _, _, ok := tl.read(lo, hi+1, nil, nil); ok {
		t.Fatalf("after %d: read through %d, past the newest held (%d)", seq, hi+1, hi)
	}
}

// TestRecordsFromTailMatchPebble: concurrent appends of every size, then Records over the
// newest records (served from the tail) and over all of them once the tail is emptied (read
// from Pebble) must agree record for record; a range the tail holds only in part is read from
// Pebble whole.
func TestRecordsFromTailMatchPebble(t *testing.T) {
	l, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 300 {
				rec := bytes.Repeat([]byte{byte(w)}, (w*131+i*17)%2000)
				if i%50 == 0 {
					rec = bytes.Repeat([]byte{byte(i)}, tailBytes/4+1) // not kept by the tail
				}
				if _, err := l.Append(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	collect := func(from uint64) map[uint64]string {
		got := map[uint64]string{}
		if err := l.Records(from, math.MaxUint64, func(seq uint64, rec []byte) error {
			got[seq] = string(rec)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	last := l.LastSeq()
	from := l.tail.first
	if l.tail.n == 0 || l.tail.first+uint64(l.tail.n)-1 != last || from == 1 {
		t.Fatalf("tail holds %d records from %d; want the newest up to %d, not all %d", l.tail.n, from, last, last)
	}
	fromTail, partly := collect(from), collect(from-1)
	l.tail = newTail()
	fromPebble := collect(1)
	if len(fromPebble) != int(last) || len(fromTail) != int(last-from+1) || len(partly) != len(fromTail)+1 {
		t.Fatalf("read %d records from Pebble, %d from the tail, %d from one before it; %d appended", len(fromPebble), len(fromTail), len(partly), last)
	}
	for seq, rec := range partly {
		if fromPebble[seq] != rec || (seq >= from && fromTail[seq] != rec) {
			t.Fatalf("record %d differs between the tail and Pebble", seq)
		}
	}
}
