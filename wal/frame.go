package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Stored values (see doc.go). Frame version 1 holds one record under its own
// seq; version 2 holds the records of one commit group under the seq of the
// last one. Both are read; the log writes version 2.
const (
	frameVersion   = 1
	frameHeaderLen = 1 + 4 // version, CRC-32C of the payload

	groupVersion   = 2
	groupHeaderLen = 1 + 4 + 4 // version, CRC-32C of the rest, record count
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShortFrame is a frame too short to hold its header.
var errShortFrame = errors.New("frame shorter than its header")

// decodeFrame returns the payload of a version 1 frame, which aliases frame.
func decodeFrame(frame []byte) ([]byte, error) {
	if len(frame) < frameHeaderLen {
		return nil, errShortFrame
	}
	if frame[0] != frameVersion {
		return nil, fmt.Errorf("unknown frame version %d", frame[0])
	}
	payload := frame[frameHeaderLen:]
	if err := checkCRC(frame[1:frameHeaderLen], payload); err != nil {
		return nil, err
	}
	return payload, nil
}

func checkCRC(stored, data []byte) error {
	want := binary.BigEndian.Uint32(stored)
	if got := crc32.Checksum(data, castagnoli); got != want {
		return fmt.Errorf("checksum mismatch: stored %08x, computed %08x", want, got)
	}
	return nil
}

// A group frame is built in place as records join the group: startGroup
// leaves room for the header, appendGroupRecord adds a record (its length as
// a uvarint, then its bytes) and sealGroup fills in the header.

func startGroup(dst []byte) []byte {
	return append(dst[:0], make([]byte, groupHeaderLen)...)
}

func appendGroupRecord(dst, rec []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rec)))
	return append(dst, rec...)
}

func sealGroup(frame []byte, n int) {
	frame[0] = groupVersion
	binary.BigEndian.PutUint32(frame[5:groupHeaderLen], uint32(n))
	binary.BigEndian.PutUint32(frame[1:5], crc32.Checksum(frame[5:], castagnoli))
}

// stored is a checked stored value: the records of seqs first..last.
type stored struct {
	first, last uint64
	one         []byte // version 1: the record
	recs        []byte // version 2: the length-prefixed records (never nil)
}

// decodeStored checks the value stored under the key of seq last and returns
// its records, which alias v.
func decodeStored(last uint64, v []byte) (stored, error) {
	if len(v) > 0 && v[0] == groupVersion {
		return decodeGroup(last, v)
	}
	rec, err := decodeFrame(v)
	return stored{first: last, last: last, one: rec}, err
}

func decodeGroup(last uint64, v []byte) (stored, error) {
	if len(v) < groupHeaderLen {
		return stored{}, errShortFrame
	}
	if err := checkCRC(v[1:5], v[5:]); err != nil {
		return stored{}, err
	}
	n := uint64(binary.BigEndian.Uint32(v[5:groupHeaderLen]))
	if n == 0 || n > last {
		return stored{}, fmt.Errorf("group of %d records ending at seq %d", n, last)
	}
	s := stored{first: last - n + 1, last: last, recs: v[groupHeaderLen:]}
	rest := s.recs
	for range n {
		var err error
		if _, rest, err = nextRecord(rest); err != nil {
			return stored{}, err
		}
	}
	if len(rest) != 0 {
		return stored{}, fmt.Errorf("%d bytes after the group's %d records", len(rest), n)
	}
	return s, nil
}

// nextRecord splits the first length-prefixed record off recs.
func nextRecord(recs []byte) (rec, rest []byte, err error) {
	size, k := binary.Uvarint(recs)
	if k <= 0 || size > uint64(len(recs)-k) {
		return nil, nil, errors.New("group record overruns the frame")
	}
	if k != uvarintLen(size) {
		return nil, nil, errors.New("group record length not in its shortest form")
	}
	end := k + int(size)
	return recs[k:end], recs[end:], nil
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// each calls fn for the records with from <= seq <= to.
func (s stored) each(from, to uint64, fn func(seq uint64, rec []byte) error) error {
	if s.recs == nil {
		if s.first < from || s.first > to {
			return nil
		}
		return fn(s.first, s.one)
	}
	rest := s.recs
	for seq := s.first; seq <= min(s.last, to); seq++ {
		var rec []byte
		rec, rest, _ = nextRecord(rest) // decodeGroup checked every one
		if seq < from {
			continue
		}
		if err := fn(seq, rec); err != nil {
			return err
		}
	}
	return nil
}
