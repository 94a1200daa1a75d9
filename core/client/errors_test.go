package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/meterd/meterd/core/client"
)

// Each documented status and code matches its sentinels and no other.
func TestAPIErrorSentinels(t *testing.T) {
	all := []error{client.ErrInvalid, client.ErrUnauthorized, client.ErrForbidden, client.ErrNotFound,
		client.ErrMethodNotAllowed, client.ErrRequestTimeout, client.ErrConflict, client.ErrTooLarge,
		client.ErrUnsupportedMediaType, client.ErrMisdirected, client.ErrIdempotencyKeyReused,
		client.ErrTooManyRequests, client.ErrHeaderTooLarge, client.ErrUnavailable, client.ErrBadSignature,
		client.ErrSessionNotOpen, client.ErrTooManyKeys, client.ErrTooManySessions, client.ErrShuttingDown, client.ErrNoAnswer}
	f := func(status int, code string, want ...error) {
		t.Helper()
		err := error(&client.APIError{Status: status, Code: code})
		for _, s := range all {
			is, wanted := errors.Is(err, s), false
			for _, w := range want {
				wanted = wanted || w == s
			}
			if is != wanted {
				t.Errorf("%d %s: errors.Is(%v) = %v", status, code, s, is)
			}
		}
	}
	f(400, "invalid_request", client.ErrInvalid)
	f(400, "bad_request", client.ErrInvalid)
	f(401, "unauthorized", client.ErrUnauthorized)
	f(403, "forbidden_origin", client.ErrForbidden)
	f(403, "forbidden", client.ErrForbidden)
	f(403, "bad_signature", client.ErrForbidden, client.ErrBadSignature)
	f(404, "not_found", client.ErrNotFound)
	f(404, "session_not_open", client.ErrNotFound, client.ErrSessionNotOpen)
	f(405, "method_not_allowed", client.ErrMethodNotAllowed)
	f(408, "request_timeout", client.ErrRequestTimeout)
	f(409, "conflict", client.ErrConflict)
	f(413, "payload_too_large", client.ErrTooLarge)
	f(415, "unsupported_media_type", client.ErrUnsupportedMediaType)
	f(421, "misdirected_request", client.ErrMisdirected)
	f(422, "idempotency_key_reused", client.ErrIdempotencyKeyReused)
	f(429, "too_many_keys", client.ErrTooManyRequests, client.ErrTooManyKeys)
	f(429, "too_many_sessions", client.ErrTooManyRequests, client.ErrTooManySessions)
	f(431, "header_too_large", client.ErrHeaderTooLarge)
	f(503, "wal_unavailable", client.ErrUnavailable)
	f(503, "shutting_down", client.ErrUnavailable, client.ErrShuttingDown)
	f(500, "internal")
}

// An answer that is not meterd's error shape keeps its status and, cut short, its text.
func TestAPIErrorForeignBody(t *testing.T) {
	fk := newFake(t, answer(502, "<html>bad gateway</html>"))
	_, err := fk.client(client.Options{}).License(context.Background(), "L1")
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != 502 || api.Code != "" || api.Message != "<html>bad gateway</html>" {
		t.Fatalf("got %#v", err)
	}
	if len(fk.requests()) != 1 {
		t.Fatalf("a 502 was retried: %d attempts", len(fk.requests()))
	}
}
