package httpapi

import (
	"errors"
	"net/http"

	"github.com/meterd/meterd/core"
)

// httpStatus maps an engine error to its HTTP status and JSON error code: the one place the
// engine's errors become statuses.
func httpStatus(err error) (int, string) {
	switch {
	case errors.Is(err, core.ErrInvalid):
		return http.StatusBadRequest, "invalid_request"
	case errors.Is(err, core.ErrSessionNotOpen):
		return http.StatusNotFound, "session_not_open"
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, core.ErrIdempotencyMismatch):
		return http.StatusUnprocessableEntity, "idempotency_key_reused"
	case errors.Is(err, core.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, core.ErrBadSignature):
		return http.StatusForbidden, "bad_signature"
	case errors.Is(err, core.ErrUnavailable):
		return http.StatusServiceUnavailable, "wal_unavailable"
	case errors.Is(err, core.ErrClosed):
		return http.StatusServiceUnavailable, "shutting_down"
	case errors.Is(err, core.ErrTooManyKeys):
		return http.StatusTooManyRequests, "too_many_keys"
	case errors.Is(err, core.ErrTooManySessions):
		return http.StatusTooManyRequests, "too_many_sessions"
	}
	return http.StatusInternalServerError, "internal"
}
