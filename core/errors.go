package core

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors callers branch on. The HTTP layer maps them to statuses in one place (httpStatus).
var (
	// ErrInvalid: the request is malformed or fails validation; nothing changed.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound: an unknown owner, item, license, product or session.
	ErrNotFound = errors.New("not found")
	// ErrSessionNotOpen: a checkin for a session that is not open.
	ErrSessionNotOpen = errors.New("session not open")
	// ErrIdempotencyMismatch: an Idempotency-Key reused with a different body.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different body")
	// ErrConflict: a provisioning externalId reused with a different body, or a product
	// change that existing licenses forbid.
	ErrConflict = errors.New("conflict")
	// ErrBadSignature: with VENDOR_PUBLIC_KEY_FILE set, a provisioning request whose
	// Meterd-Signature is missing, malformed, or not the vendor's over this method, path and
	// body; nothing changed.
	ErrBadSignature = errors.New("bad vendor signature")
	// ErrUnavailable: the write-ahead log cannot persist; nothing was granted.
	ErrUnavailable = errors.New("write-ahead log unavailable")
	// ErrClosed: the engine is shutting down.
	ErrClosed = errors.New("engine closed")
	// ErrTooManyKeys: IDEMPOTENCY_MAX_KEYS keys are remembered, so a new key cannot be;
	// nothing was taken.
	ErrTooManyKeys = errors.New("too many idempotency keys remembered")
	// ErrTooManySessions: MAX_SESSIONS sessions are open, so no other can be checked out;
	// nothing was taken.
	ErrTooManySessions = errors.New("too many sessions open")
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

// httpStatus maps an engine error to its HTTP status and JSON error code.
func httpStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, "invalid_request"
	case errors.Is(err, ErrSessionNotOpen):
		return http.StatusNotFound, "session_not_open"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity, "idempotency_key_reused"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, ErrBadSignature):
		return http.StatusForbidden, "bad_signature"
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "wal_unavailable"
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable, "shutting_down"
	case errors.Is(err, ErrTooManyKeys):
		return http.StatusTooManyRequests, "too_many_keys"
	case errors.Is(err, ErrTooManySessions):
		return http.StatusTooManyRequests, "too_many_sessions"
	}
	return http.StatusInternalServerError, "internal"
}
