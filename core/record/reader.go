package record

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// reader decodes fields in order; the first problem sticks and later reads return zeros.
// With alias set, strings alias b instead of copying it.
type reader struct {
	b     []byte
	off   int
	err   error
	alias bool
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrBadRecord, what, r.off)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("short")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad bool")
	return false
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.off += n
	return v
}

// count reads a length that must fit in what is left, each element taking at least min bytes.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64((len(r.b)-r.off)/min) {
		r.fail("count beyond the record")
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	if r.alias {
		b := r.bytes()
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return string(r.bytes())
}

func (r *reader) bytes() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *reader) fixed(dst []byte) {
	if r.err != nil || len(r.b)-r.off < len(dst) {
		r.fail("short")
		return
	}
	r.off += copy(dst, r.b[r.off:])
}
