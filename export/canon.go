package export

import (
	"encoding/binary"
	"errors"
	"math"
)

// Type tags of the canonical encoding, numbered as SQLite numbers its
// storage classes. The tag makes the integer 5, the text "5" and the blob
// x'35' encode differently, so changing a value's type breaks the MAC.
const (
	tagInteger byte = 1
	tagFloat   byte = 2
	tagText    byte = 3
	tagBlob    byte = 4
	tagNull    byte = 5
)

// value is one SQLite value as stored.
type value struct {
	tag byte
	i   int64  // tagInteger; the IEEE 754 bits for tagFloat
	s   string // tagText and tagBlob
}

func intValue(i int64) value   { return value{tag: tagInteger, i: i} }
func textValue(s string) value { return value{tag: tagText, s: s} }

// optText is NULL for "": Detailed rows record an absent session, user,
// host or address as NULL, Standard rows record none.
func optText(s string) value {
	if s == "" {
		return value{tag: tagNull}
	}
	return textValue(s)
}

// Columns of the usage table before mac, in table order.
const (
	colSeq = iota
	colBatch
	colTime
	colAction
	colOwner
	colItem
	colLicenseID
	colUnits
	colEvents
	colLicenseConsumed
	colSession
	colUsername
	colHostname
	colIPAddress
	colExternalID
	colVendorSignature
	colVendorRequest
	numCols // the mac column follows
)

// row is the usage row a MAC covers: every column but mac.
type row [numCols]value

// appendValue appends v's canonical encoding: the tag, then 8 big-endian
// bytes for an integer or float, or a 4-byte big-endian length and the
// bytes for text or blob, or nothing for NULL.
func appendValue(b []byte, v value) []byte {
	b = append(b, v.tag)
	switch v.tag {
	case tagInteger, tagFloat:
		return binary.BigEndian.AppendUint64(b, uint64(v.i))
	case tagText, tagBlob:
		if uint64(len(v.s)) > math.MaxUint32 {
			panic("BUG: export: value longer than 4 GiB")
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.s)))
		return append(b, v.s...)
	case tagNull:
		return b
	}
	panic("BUG: export: unknown value tag")
}

// appendCanon appends the canonical encoding of r: its columns' encodings
// in table order.
func appendCanon(b []byte, r *row) []byte {
	for i := range r {
		b = appendValue(b, r[i])
	}
	return b
}

var errCanon = errors.New("export: malformed canonical row")

// decodeCanon is appendCanon's inverse; tests and fuzzing use it to show the
// encoding is unambiguous.
func decodeCanon(b []byte) (row, error) {
	var r row
	for i := range r {
		v, n, err := decodeValue(b)
		if err != nil {
			return row{}, err
		}
		r[i], b = v, b[n:]
	}
	if len(b) != 0 {
		return row{}, errCanon
	}
	return r, nil
}

func decodeValue(b []byte) (value, int, error) {
	if len(b) == 0 {
		return value{}, 0, errCanon
	}
	v := value{tag: b[0]}
	switch v.tag {
	case tagInteger, tagFloat:
		if len(b) < 9 {
			return value{}, 0, errCanon
		}
		v.i = int64(binary.BigEndian.Uint64(b[1:]))
		return v, 9, nil
	case tagText, tagBlob:
		if len(b) < 5 {
			return value{}, 0, errCanon
		}
		n := binary.BigEndian.Uint32(b[1:])
		if uint64(len(b)-5) < uint64(n) {
			return value{}, 0, errCanon
		}
		v.s = string(b[5 : 5+n])
		return v, 5 + int(n), nil
	case tagNull:
		return v, 1, nil
	}
	return value{}, 0, errCanon
}
