package wal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// groupFrame returns the group frame of recs.
func groupFrame(recs ...[]byte) []byte {
	f := startGroup(nil)
	for _, r := range recs {
		f = appendGroupRecord(f, r)
	}
	sealGroup(f, len(recs))
	return f
}

// storedKeys returns the seqs of the record keys in l's Pebble database.
func storedKeys(t *testing.T, db *pebble.DB) []uint64 {
	t.Helper()
	iter, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{recordPrefix}, UpperBound: []byte{recordPrefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []uint64
	for ok := iter.First(); ok; ok = iter.Next() {
		seq, _ := parseRecordKey(iter.Key())
		keys = append(keys, seq)
	}
	if err := errors.Join(iter.Error(), iter.Close()); err != nil {
		t.Fatal(err)
	}
	return keys
}

// writeRaw writes what fill puts in a batch into a fresh Pebble database "db", as another
// build (or damage) would have left it, and returns its file system.
func writeRaw(t *testing.T, fill func(*pebble.Batch)) vfs.FS {
	t.Helper()
	fs := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	fill(b)
	if err := errors.Join(b.Commit(pebble.Sync), db.Close()); err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestGroupsOnDisk appends groups of known sizes and reads them back from Pebble (the tail
// emptied): one key a group, under its last seq; every range, including ones that begin or
// end inside a group; and truncation through the middle of a group, which keeps that group
// on disk but serves nothing below the mark, before and after a reopen.
func TestGroupsOnDisk(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(seq uint64) []byte { return fmt.Appendf(nil, "record %d", seq) }
	var seq uint64
	for _, n := range []int{3, 1, 4, 1, 5, 9, 2, 6} { // groups 1-3, 4, 5-8, 9, 10-14, 15-23, 24-25, 26-31
		recs := make([][]byte, n)
		for i := range recs {
			recs[i] = rec(seq + 1 + uint64(i))
		}
		if _, err := l.AppendBatch(recs); err != nil {
			t.Fatal(err)
		}
		seq += uint64(n)
	}
	if got, want := fmt.Sprint(storedKeys(t, l.db)), "[3 4 8 9 14 23 25 31]"; got != want {
		t.Fatalf("record keys: got %s, want %s (one a group, under its last seq)", got, want)
	}
	readRange := func(from, to uint64) {
		t.Helper()
		l.tail = newTail()
		next := from
		err := l.Records(from, to, func(seq uint64, r []byte) error {
			if seq != next || !bytes.Equal(r, rec(seq)) {
				return fmt.Errorf("got record %d %q, want %d %q", seq, r, next, rec(next))
			}
			next++
			return nil
		})
		if err != nil || next != min(to, l.LastSeq())+1 {
			t.Fatalf("Records(%d, %d): %v, read up to %d", from, to, err, next-1)
		}
	}
	check := func(first uint64) {
		t.Helper()
		if l.FirstSeq() != first || l.LastSeq() != 31 {
			t.Fatalf("FirstSeq %d LastSeq %d, want %d 31", l.FirstSeq(), l.LastSeq(), first)
		}
		for from := first; from <= 31; from++ {
			for to := from; to <= 32; to++ {
				readRange(from, to)
			}
		}
		readRange(first, math.MaxUint64)
		if err := l.Records(first-1, 31, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrTruncated) && first > 1 {
			t.Fatalf("Records from %d: got %v, want ErrTruncated", first-1, err)
		}
	}
	check(1)
	if err := l.NewCheckpoint(20).Commit(); err != nil {
		t.Fatal(err)
	}
	if err := l.Truncate(11); err != nil { // inside 10-14
		t.Fatal(err)
	}
	check(12)
	if got, want := fmt.Sprint(storedKeys(t, l.db)), "[14 23 25 31]"; got != want {
		t.Fatalf("record keys after truncating through 11: got %s, want %s", got, want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open("db", Options{FS: fs}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	check(12)
	if err := l.Truncate(14); err != nil { // the rest of 10-14
		t.Fatal(err)
	}
	check(15)
	if got, want := fmt.Sprint(storedKeys(t, l.db)), "[23 25 31]"; got != want {
		t.Fatalf("record keys after truncating through 14: got %s, want %s", got, want)
	}
}

// TestOpenVersion1 opens a log written by a build that stored a key a record (format
// version 1): its records read back, new ones are stored as groups, and the log is marked
// version 2 so that such a build refuses it from then on.
func TestOpenVersion1(t *testing.T) {
	fs := writeRaw(t, func(b *pebble.Batch) {
		_ = b.Set(metaVersion, encodeUint64(formatVersionV1), nil)
		for seq := uint64(1); seq <= 3; seq++ {
			_ = b.Set(recordKey(seq), appendFrame(nil, fmt.Appendf(nil, "v1 %d", seq)), nil)
		}
	})

	l, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendBatch([][]byte{[]byte("v2 4"), []byte("v2 5")}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open("db", Options{FS: fs}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = l.Records(1, math.MaxUint64, func(seq uint64, r []byte) error {
		got = append(got, fmt.Sprintf("%d:%s", seq, r))
		return nil
	})
	if want := "1:v1 1 2:v1 2 3:v1 3 4:v2 4 5:v2 5"; err != nil || strings.Join(got, " ") != want {
		t.Fatalf("Records: got %q, %v; want %q", got, err, want)
	}
	if v, _, err := l.getMeta(metaVersion); v != formatVersion || err != nil {
		t.Fatalf("format version after Open: %d, %v; want %d", v, err, formatVersion)
	}
	if keys := fmt.Sprint(storedKeys(t, l.db)); keys != "[1 2 3 5]" {
		t.Fatalf("record keys: %s, want [1 2 3 5]", keys)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeGroup(t *testing.T) {
	good := groupFrame([]byte("a"), nil, []byte("ccc"))
	s, err := decodeStored(7, good)
	if err != nil || s.first != 5 || s.last != 7 {
		t.Fatalf("decode: %+v, %v; want records 5..7", s, err)
	}
	// reseal fixes the checksum of a damaged frame, so that the checks behind it are reached.
	reseal := func(f []byte) []byte {
		binary.BigEndian.PutUint32(f[1:5], crc32.Checksum(f[5:], castagnoli))
		return f
	}
	// withCount returns good with more bytes after its records and a record count of n.
	withCount := func(n uint32, more ...byte) []byte {
		f := append(bytes.Clone(good), more...)
		binary.BigEndian.PutUint32(f[5:groupHeaderLen], n)
		return reseal(f)
	}
	f := func(last uint64, frame []byte, want string) {
		t.Helper()
		if _, err := decodeStored(last, frame); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("decodeStored(%d, %x): got %v, want an error containing %q", last, frame, err, want)
		}
	}
	f(7, good[:groupHeaderLen-1], "shorter than its header")
	f(7, good[:len(good)-1], "checksum mismatch")
	f(7, append(bytes.Clone(good[:len(good)-1]), 'X'), "checksum mismatch")
	f(7, withCount(0), "group of 0 records")
	f(2, good, "group of 3 records ending at seq 2")
	f(7, withCount(2), "bytes after the group's 2 records")
	f(7, withCount(4), "overruns the frame")
	f(8, withCount(4, 5), "overruns the frame")    // a record of 5 bytes with none left
	f(8, withCount(4, 0xff), "overruns the frame") // a length cut short
	f(7, append([]byte{3}, good[1:]...), "unknown frame version 3")
	// One encoding for one content: an empty record's length as two bytes (0x80 0x00) is
	// refused, so that whatever decodes is what the log wrote.
	f(1, reseal(append(groupFrame(nil)[:groupHeaderLen], 0x80, 0x00)), "not in its shortest form")
}

const groupGoldenPath = "testdata/groups.golden"

// TestGroupGolden pins the group frame encoding as TestFrameGolden pins the single record's:
// each line is a group of golden payloads (named, joined by +), the seq of its last record,
// and the frame. go test ./wal -run TestGroupGolden -update rewrites the file.
func TestGroupGolden(t *testing.T) {
	payloads := map[string][]byte{}
	for _, c := range goldenPayloads() {
		payloads[c.name] = c.payload
	}
	groups := []struct {
		names string
		last  uint64
	}{
		{"consume-120", 1},
		{"empty+one-byte+text", 4},
		{"crc-check-value+binary+consume-120+empty", 1 << 40},
	}
	recsOf := func(names string) [][]byte {
		var recs [][]byte
		for _, n := range strings.Split(names, "+") {
			recs = append(recs, payloads[n])
		}
		return recs
	}
	var b strings.Builder
	b.WriteString("# wal group frames: payload names, last seq, frame-hex (version byte 02, CRC-32C of the rest, record count, then each record as a uvarint length and its bytes)\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "%s %d %x\n", g.names, g.last, groupFrame(recsOf(g.names)...))
	}
	for _, line := range checkGolden(t, groupGoldenPath, b.String()) {
		var names, frameHex string
		var last uint64
		if _, err := fmt.Sscan(line, &names, &last, &frameHex); err != nil {
			t.Fatal(err)
		}
		frame, _ := hex.DecodeString(frameHex)
		recs := recsOf(names)
		var got [][]byte
		err := decodeAndEach(last, frame, func(_ uint64, r []byte) error {
			got = append(got, r)
			return nil
		})
		if err != nil || len(got) != len(recs) {
			t.Fatalf("%s: decode: %d records, %v; want %d", names, len(got), err, len(recs))
		}
		for i := range recs {
			if !bytes.Equal(got[i], recs[i]) {
				t.Fatalf("%s: record %d: got %x, want %x", names, i, got[i], recs[i])
			}
		}
	}
}

// decodeAndEach decodes a stored value and calls fn for every record it holds.
func decodeAndEach(last uint64, v []byte, fn func(uint64, []byte) error) error {
	s, err := decodeStored(last, v)
	if err != nil {
		return err
	}
	return s.each(0, math.MaxUint64, fn)
}

// FuzzDecodeStored: whatever decodes re-encodes to the same bytes, with its records at the
// seqs the key implies; any records, split out of the input at its zero bytes, survive a
// group frame.
func FuzzDecodeStored(f *testing.F) {
	f.Add(uint64(7), groupFrame([]byte("a"), nil, []byte("ccc")))
	f.Add(uint64(1), groupFrame(nil))
	f.Add(uint64(3), appendFrame(nil, []byte("one")))
	f.Add(uint64(0), []byte{groupVersion, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, last uint64, data []byte) {
		var recs [][]byte
		next := uint64(0)
		err := decodeAndEach(last, data, func(seq uint64, r []byte) error {
			if next != 0 && seq != next {
				t.Fatalf("records at %d after %d", seq, next-1)
			}
			recs, next = append(recs, r), seq+1
			return nil
		})
		if err == nil {
			if next != last+1 {
				t.Fatalf("records end at %d, want the key's seq %d", next-1, last)
			}
			again := groupFrame(recs...)
			if data[0] == frameVersion {
				again = appendFrame(nil, recs[0])
			}
			if !bytes.Equal(again, data) {
				t.Fatalf("decode then encode: got %x, want %x", again, data)
			}
		}
		recs = bytes.Split(data, []byte{0})
		var got [][]byte
		err = decodeAndEach(uint64(len(recs)), groupFrame(recs...), func(_ uint64, r []byte) error {
			got = append(got, r)
			return nil
		})
		if err != nil || len(got) != len(recs) {
			t.Fatalf("encode then decode: %d records, %v; want %d", len(got), err, len(recs))
		}
		for i := range recs {
			if !bytes.Equal(got[i], recs[i]) {
				t.Fatalf("record %d: got %x, want %x", i, got[i], recs[i])
			}
		}
	})
}

// TestOpenCorruptGroups: Open checks groups as it checks single records, and also that a
// group does not hold records the one before it holds.
func TestOpenCorruptGroups(t *testing.T) {
	f := func(name string, truncated uint64, groups map[uint64]int, seq uint64, reason string) {
		t.Run(name, func(t *testing.T) {
			fs := writeRaw(t, func(b *pebble.Batch) {
				_ = b.Set(metaVersion, encodeUint64(formatVersion), nil)
				_ = b.Set(metaTruncated, encodeUint64(truncated), nil)
				_ = b.Set(metaCheckpoint, encodeUint64(truncated), nil)
				for last, n := range groups {
					_ = b.Set(recordKey(last), groupFrame(make([][]byte, n)...), nil)
				}
			})
			_, err := Open("db", Options{FS: fs})
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Seq != seq || !strings.Contains(ce.Reason, reason) {
				t.Fatalf("Open: got %v, want a *CorruptError at %d containing %q", err, seq, reason)
			}
		})
	}
	f("Overlap", 0, map[uint64]int{5: 5, 8: 5}, 4, "stored twice (a group of 4 to 8 overlaps the one before)")
	f("Gap", 0, map[uint64]int{5: 5, 9: 3}, 6, "missing (next stored record is 7)")
	f("FirstAfterMark", 3, map[uint64]int{8: 4}, 4, "missing (next stored record is 5)")
	f("WhollyBelowMark", 6, map[uint64]int{5: 5, 9: 3}, 1, "stored below the truncation mark 6")
	f("OverlapAfterPartial", 3, map[uint64]int{5: 5, 8: 4}, 5, "stored twice")
}
