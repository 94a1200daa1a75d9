// Package core owns what the agent knows about licensing and how it answers: products and their
// license model, owners, licenses and their use-count credits, the 10Duke-style provisioning
// transactions, sessions, idempotency keys, and the Engine that joins the hot-path counters
// (shard), the write-ahead log (wal) and the usage database (export). It also owns the
// configuration, the fasthttp API and the Prometheus registry.
//
// # One consumption
//
//	HTTP body ──parse (no alloc)──▶ resolve license (shard.Table, no lock)
//	    ──▶ decide (shard.License.Take: CAS, all or nothing)
//	    ──▶ encode record ──▶ wal.Log.Append (group commit; Sync: after fsync)
//	    ──▶ answer           (append failed: give the units back, answer 503)
//
// The applier goroutine follows the log's durable tail in sequence order. It applies every
// record to the durable state (the same code that replays the log at start-up), hands the
// pay-per-use actions to export.Batcher, writes incremental checkpoints of the durable state
// into the wal state store and truncates what is both checkpointed and exported. The live
// counters run ahead of the durable state by at most the records in flight.
//
// # Recovery
//
// Open loads the last checkpoint, replays the log tail, exports what the usage database does
// not hold yet and only then rebuilds the live counters, sessions and idempotency keys from
// the durable state. Anything that does not add up (a record that does not decode, a usage
// database ahead of the log or behind its truncation point) stops start-up with an error
// naming the file: a silently dropped record would be free units.
//
// # The HTTP edge
//
// Server assumes every local process and every web page in the user's browser may be
// hostile. Before routing it answers only Host names in ALLOWED_HOSTS and refuses foreign
// Origins and OPTIONS (http_guard.go). The listener bounds connections (MAX_CONNS) and drives
// the first request's deadlines, fasthttp the later ones (listener.go); bodies are streamed
// into buffers that grow with the bytes received (http_body.go). Nothing fasthttp could not
// parse is quoted back or logged as text (httplog.go), since it may hold the admin token.
// Idempotency keys and sessions are bounded (IDEMPOTENCY_MAX_KEYS, MAX_SESSIONS): past a
// bound a new one is refused with 429 and takes nothing.
//
// # Vendor signatures
//
// The admin token that guards provisioning sits on the customer's machine. With
// VENDOR_PUBLIC_KEY_FILE set, PutProductSigned and ProvisionSigned also require the vendor's
// Ed25519 signature over METHOD SP PATH LF body, checked before the body is read against the
// method and path the engine rebuilds from what it is about to change, so a signature made
// for another owner or product cannot pass; a refusal is ErrBadSignature and changes nothing.
// A transaction's signature and the bytes it covers go into its WAL record, the durable state
// (v/<externalId>) and its first provision row of the usage database, where the vendor's
// meterctl checks it again. Without the key, signatures are neither checked nor kept.
//
// # Concurrency
//
// Every exported method of Engine is safe for concurrent use. Consumption takes no lock
// except the per-session mutex (sessions mode) and the per-key entry of an idempotency key;
// provisioning, which is rare, is serialised by one mutex.
package core
