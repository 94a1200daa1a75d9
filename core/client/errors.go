package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrNoAnswer: no complete answer arrived (the connection failed, the attempt timed out, the
// context ended). Whether meterd acted on the request is unknown; a consume sent again with
// the same Idempotency-Key finds out without spending twice.
var ErrNoAnswer = errors.New("client: no answer from meterd")

// Sentinels an *APIError matches with errors.Is, by status (the README's table of errors).
var (
	ErrInvalid              = errors.New("client: invalid request")               // 400
	ErrUnauthorized         = errors.New("client: unauthorized")                  // 401
	ErrForbidden            = errors.New("client: forbidden")                     // 403
	ErrNotFound             = errors.New("client: not found")                     // 404
	ErrMethodNotAllowed     = errors.New("client: method not allowed")            // 405
	ErrRequestTimeout       = errors.New("client: request not complete in time")  // 408
	ErrConflict             = errors.New("client: conflict")                      // 409 that is not a denial
	ErrTooLarge             = errors.New("client: request body too large")        // 413
	ErrUnsupportedMediaType = errors.New("client: unsupported media type")        // 415
	ErrMisdirected          = errors.New("client: misdirected request")           // 421
	ErrIdempotencyKeyReused = errors.New("client: idempotency key reused")        // 422
	ErrTooManyRequests      = errors.New("client: too many keys or sessions")     // 429
	ErrHeaderTooLarge       = errors.New("client: request headers too large")     // 431
	ErrUnavailable          = errors.New("client: meterd unavailable, try again") // 503
)

// Narrower sentinels, by error code; each also matches its status's sentinel above.
var (
	ErrBadSignature    = errors.New("client: bad vendor signature")      // 403 bad_signature
	ErrSessionNotOpen  = errors.New("client: session not open")          // 404 session_not_open
	ErrTooManyKeys     = errors.New("client: too many idempotency keys") // 429 too_many_keys
	ErrTooManySessions = errors.New("client: too many sessions open")    // 429 too_many_sessions
	ErrShuttingDown    = errors.New("client: meterd is shutting down")   // 503 shutting_down
)

var byStatus = map[int]error{
	http.StatusBadRequest: ErrInvalid, http.StatusUnauthorized: ErrUnauthorized, http.StatusForbidden: ErrForbidden,
	http.StatusNotFound: ErrNotFound, http.StatusMethodNotAllowed: ErrMethodNotAllowed,
	http.StatusRequestTimeout: ErrRequestTimeout, http.StatusConflict: ErrConflict,
	http.StatusRequestEntityTooLarge: ErrTooLarge, http.StatusUnsupportedMediaType: ErrUnsupportedMediaType,
	http.StatusMisdirectedRequest: ErrMisdirected, http.StatusUnprocessableEntity: ErrIdempotencyKeyReused,
	http.StatusTooManyRequests: ErrTooManyRequests, http.StatusRequestHeaderFieldsTooLarge: ErrHeaderTooLarge,
	http.StatusServiceUnavailable: ErrUnavailable,
}

var byCode = map[string]error{
	"bad_signature": ErrBadSignature, "session_not_open": ErrSessionNotOpen, "too_many_keys": ErrTooManyKeys,
	"too_many_sessions": ErrTooManySessions, "shutting_down": ErrShuttingDown,
}

// APIError is an answer of meterd outside 2xx that is not a denial: {"error", "message"}
// with its status. meterd changed nothing.
type APIError struct {
	Status  int
	Code    string // "not_found", "invalid_request", ...; empty when the body was not meterd's
	Message string
	// RetryAfter is when meterd said to try again (429, 503); 0 when it did not say.
	RetryAfter time.Duration
	// Method and Path name the call.
	Method, Path string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("client: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// Is matches the sentinel of e's status and the narrower one of its code.
func (e *APIError) Is(target error) bool {
	return target != nil && (byStatus[e.Status] == target || byCode[e.Code] == target)
}

// apiError reads an error answer. A body that is not meterd's error shape (a proxy's page)
// is kept, cut short, as the message.
func apiError(cl *call, r reply) *APIError {
	e := &APIError{Status: r.status, Method: cl.method, Path: cl.path, RetryAfter: retryAfter(r.header)}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(r.body, &body) == nil && body.Error != "" {
		e.Code, e.Message = body.Error, body.Message
		return e
	}
	e.Message = strings.TrimSpace(string(r.body[:min(len(r.body), 200)]))
	return e
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

func noAnswer(cl *call, err error) error {
	return fmt.Errorf("%w: %s %s: %w", ErrNoAnswer, cl.method, cl.path, err)
}
