// Package client is the Go client of meterd's HTTP API, for licensed applications and for the
// vendor's and operator's tools: consume, consume in batches, check in, read licenses, define
// products and provision 10Duke license transactions, typed both ways.
//
// It speaks HTTP and JSON only and must not import package core or anything that imports it,
// so that an application can meter itself without linking Pebble and SQLite (a test in this
// package checks its dependencies).
//
// # Answers and errors
//
// A denial (409 with "granted": false) is an answer, not an error: Consume returns it as a
// Decision with Granted false and a Reason. Every other status outside 2xx is an *APIError
// with the status, the error code and the message meterd sent; errors.Is matches it against
// the sentinel of its status (ErrInvalid, ErrNotFound, ErrUnavailable, ...) and, for some
// codes, a narrower one (ErrBadSignature, ErrSessionNotOpen, ErrTooManyKeys,
// ErrShuttingDown). A call that got no complete answer fails with an error that matches
// ErrNoAnswer: whether meterd acted on it is unknown.
//
// # Retries
//
// A call is retried, up to Options.Attempts in all, only when a retry cannot spend twice:
//
//   - a 503 (meterd changes nothing when it answers with an error; 503 says try again);
//   - a request that was never sent (the connection could not be made);
//   - a request that got no answer, when sending it again is harmless: reads, PUT /products,
//     license transactions (an externalId is provisioned once), and consumes, which carry an
//     Idempotency-Key from their first attempt (the caller's, or one the client makes) so
//     that meterd answers a repeat with the first answer and takes nothing.
//
// A checkin that got no answer is not sent again: meterd may have closed the session, and the
// repeat would be told it is not open. No 4xx is ever retried. Waits between attempts double
// from Options.Backoff up to Options.MaxBackoff (a Retry-After from meterd counts, within that
// cap) and end with the context: a call whose context would expire during the wait returns
// its last error at once. With Attempts = 1 nothing is retried and no key is made, so a call
// is exactly one request, as tests of meterd itself need.
//
// # Connections
//
// A Client holds one http.Transport and keeps up to Options.MaxConns connections to meterd
// alive between calls. It is safe for concurrent use; make one per agent and share it.
package client
