// Package idem is the live table of Idempotency-Keys: the first answer given under each key,
// so that a retry gets it again and takes nothing. It owns the concurrency of a key (the first
// request decides, duplicates wait for its answer or, in a batch, are told to come back), the
// bound IDEMPOTENCY_MAX_KEYS and expiry after IDEMPOTENCY_TTL.
//
// It knows nothing of the log: core decides under a claimed key, logs the decision and
// completes the key with its answer, and at start-up puts back the answers the durable state
// holds (persisted by core/record). Keys are opaque here; core scopes them per owner.
package idem
