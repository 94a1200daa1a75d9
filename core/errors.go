package core

import (
	"errors"
	"fmt"

	"github.com/meterd/meterd/core/idem"
	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/core/vendorsig"
)

// Errors callers branch on. The HTTP edge (core/httpapi) maps them to statuses in one place.
var (
	// ErrInvalid: the request is malformed or fails validation; nothing changed.
	ErrInvalid = licensing.ErrInvalid
	// ErrNotFound: an unknown owner, item, license, product or session.
	ErrNotFound = errors.New("not found")
	// ErrSessionNotOpen: a checkin for a session that is not open.
	ErrSessionNotOpen = errors.New("session not open")
	// ErrIdempotencyMismatch: an Idempotency-Key reused with a different body.
	ErrIdempotencyMismatch = idem.ErrMismatch
	// ErrConflict: a provisioning externalId reused with a different body, or a product
	// change that existing licenses forbid.
	ErrConflict = errors.New("conflict")
	// ErrBadSignature: with VENDOR_PUBLIC_KEY_FILE set, a provisioning request whose
	// Meterd-Signature is missing, malformed, or not the vendor's over this method, path and
	// body; nothing changed.
	ErrBadSignature = vendorsig.ErrBadSignature
	// ErrUnavailable: the write-ahead log cannot persist; nothing was granted.
	ErrUnavailable = errors.New("write-ahead log unavailable")
	// ErrClosed: the engine is shutting down.
	ErrClosed = errors.New("engine closed")
	// ErrTooManyKeys: IDEMPOTENCY_MAX_KEYS keys are remembered, so a new key cannot be;
	// nothing was taken.
	ErrTooManyKeys = idem.ErrTooManyKeys
	// ErrTooManySessions: MAX_SESSIONS sessions are open, so no other can be checked out;
	// nothing was taken.
	ErrTooManySessions = errors.New("too many sessions open")
	// ErrBadRecord: a WAL record or a checkpoint value does not decode; start-up stops.
	ErrBadRecord = record.ErrBadRecord
)

// invalidf wraps ErrInvalid with a message for the caller.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func conflictf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}
