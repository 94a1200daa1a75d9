package wal

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Failures of the disk or of Pebble wrap
// ErrUnavailable together with their cause, so both errors.Is(err,
// ErrUnavailable) and errors.Is(err, <cause>) hold.
var (
	// ErrClosed is returned by every call after Close has begun.
	ErrClosed = errors.New("wal: closed")
	// ErrUnavailable marks a sticky failure: a write or fsync failed, nothing
	// in the failed group was acknowledged, and every later Append fails fast.
	ErrUnavailable = errors.New("wal: unavailable")
	// ErrTruncated is returned by Records for a seq that Truncate deleted.
	ErrTruncated = errors.New("wal: truncated")
)

// CorruptError reports stored data that breaks the log's invariants: a missing
// seq, a frame that does not decode, or meta keys that contradict the records.
// Open returns it instead of starting on damaged data; Records returns it if it
// meets such damage later.
type CorruptError struct {
	Dir    string // directory passed to Open
	Seq    uint64 // the record that is missing or damaged
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: %s: record %d: %s", e.Dir, e.Seq, e.Reason)
}

// unavailable wraps cause so that it matches both ErrUnavailable and cause.
func unavailable(cause error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, cause)
}
