package client

import "time"

// Defaults of Options, used where a field is zero.
const (
	DefaultMaxConns   = 16
	DefaultAttempts   = 4
	DefaultBackoff    = 25 * time.Millisecond
	DefaultMaxBackoff = 2 * time.Second
	DefaultTimeout    = 30 * time.Second
)

// Options configure a Client. The zero value is a client of the application API with the
// defaults above.
type Options struct {
	// Token is the admin bearer token (ADMIN_TOKEN_FILE), sent only on provisioning and the
	// admin reads.
	Token string
	// MaxConns bounds the connections to meterd, idle and busy.
	MaxConns int
	// Attempts is how many times a call may be sent in all; 1 turns retries off (and with
	// them the Idempotency-Key the client would make for a consume).
	Attempts int
	// Backoff is the wait before the first retry; it doubles with each one, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt, answer included; the context bounds the whole call.
	Timeout time.Duration
	// DisableKeepAlives closes each connection after its answer, for a caller that must not
	// add an idle connection to what it measures on meterd.
	DisableKeepAlives bool
}

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}
