package wal

import "encoding/binary"

// Key layout. One byte of prefix keeps the three kinds apart and in this order
// (meta < records < state), so each kind is one contiguous Pebble span.
const (
	metaPrefix   = 'm'
	recordPrefix = 'r'
	statePrefix  = 's'

	recordKeyLen = 1 + 8
)

// Meta keys. Values are 8-byte big-endian integers.
var (
	metaVersion    = []byte("mversion")
	metaCheckpoint = []byte("mcheckpoint")
	metaTruncated  = []byte("mtruncated")
)

// formatVersion is stored under metaVersion. Version 1 stored every record
// under its own key (frame version 1); version 2 adds group frames. Open
// reads both and moves a version 1 log to 2 before anything is appended, so
// that a build that knows only version 1 refuses the log rather than calling
// its first group frame damage. Open refuses any other value.
const (
	formatVersion   = 2
	formatVersionV1 = 1
)

// putRecordKey writes the key of seq into dst[:recordKeyLen].
func putRecordKey(dst []byte, seq uint64) {
	dst[0] = recordPrefix
	binary.BigEndian.PutUint64(dst[1:recordKeyLen], seq)
}

// recordKey returns the key of seq. Not for the hot path: it allocates.
func recordKey(seq uint64) []byte {
	k := make([]byte, recordKeyLen)
	putRecordKey(k, seq)
	return k
}

// parseRecordKey returns the seq of a record key.
func parseRecordKey(k []byte) (uint64, bool) {
	if len(k) != recordKeyLen || k[0] != recordPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), true
}

func encodeUint64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}
