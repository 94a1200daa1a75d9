package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record frame (see doc.go): version byte, CRC-32C of the payload, payload.
const (
	frameVersion   = 1
	frameHeaderLen = 1 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShortFrame is a frame too short to hold its header.
var errShortFrame = errors.New("frame shorter than its header")

// putFrame writes the frame of payload into dst, which must be exactly
// frameHeaderLen+len(payload) long (a Pebble deferred value).
// The checksum is taken of the copy: crc32 calls through a function value,
// so payload itself would escape, and callers could not keep it on the stack.
func putFrame(dst, payload []byte) {
	dst[0] = frameVersion
	copy(dst[frameHeaderLen:], payload)
	binary.BigEndian.PutUint32(dst[1:frameHeaderLen], crc32.Checksum(dst[frameHeaderLen:], castagnoli))
}

// appendFrame appends the frame of payload to dst.
func appendFrame(dst, payload []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, frameHeaderLen+len(payload))...)
	putFrame(dst[n:], payload)
	return dst
}

// decodeFrame returns the payload of frame, which aliases frame.
func decodeFrame(frame []byte) ([]byte, error) {
	if len(frame) < frameHeaderLen {
		return nil, errShortFrame
	}
	if frame[0] != frameVersion {
		return nil, fmt.Errorf("unknown frame version %d", frame[0])
	}
	payload := frame[frameHeaderLen:]
	want := binary.BigEndian.Uint32(frame[1:frameHeaderLen])
	if got := crc32.Checksum(payload, castagnoli); got != want {
		return nil, fmt.Errorf("checksum mismatch: stored %08x, computed %08x", want, got)
	}
	return payload, nil
}
