// Package core owns what the agent knows about licensing and how it answers: products and their
// license model, owners, licenses and their use-count credits, the 10Duke-style provisioning
// transactions, sessions, idempotency keys, and the Engine that joins the hot-path counters
// (shard), the write-ahead log (wal) and the usage database (export). The Engine speaks Go
// types (ConsumeRequest, Order, Transaction, LicenseView); it reads no JSON and writes none.
//
// # The map
//
//	cmd/meterd ──▶ core/httpapi ──▶ core ──▶ shard, wal, export
//	                    │            │
//	                    └────────────┴──▶ core/config, core/internal/throttle
//
//	core ──▶ core/order ──▶ core/record ──▶ core/licensing ──▶ shard
//	     ──▶ core/idem ───────────────────▶ core/licensing
//	     ──▶ core/session, core/vendorsig, core/metrics
//	     ──▶ core/pool ──▶ core/licensing
//
//	cmd/meterd, cmd/meterctl, core, core/metrics ──▶ core/version
//	cmd/meterctl ──▶ export, core/pool (meterctl pool evict)
//
//	core/config     the configuration: keys, defaults, checks, the file format
//	core/httpapi    the fasthttp transport: routing, the guard against hostile clients,
//	                timeouts and bounds, the JSON wire format (10Duke's shapes), and the one
//	                place errors become statuses
//	core            the engine: decisions, provisioning, the live licenses, durability (what
//	                is logged and stored, the applier, replay), the clock
//	core/order      an order (a license transaction): its checks and the digest of its content
//	core/record     the bytes of WAL records and checkpoint values, today's and earlier builds'
//	core/licensing  the values licensing is made of (Window, Product, LicenseView, Transaction,
//	                Answer, ...) and what makes each well-formed; core names them as its own
//	core/idem       the live table of Idempotency-Keys: claims, first answers, bound, expiry
//	core/session    the live table of sessions: a lock each, the MAX_SESSIONS bound, idleness
//	core/vendorsig  the vendor's signature on provisioning requests: its key and its check
//	core/metrics    the Prometheus registry and the engine's series on it
//	core/pool       shared licenses in etcd: the keys, leases and returns of blocks, epochs,
//	                fencing and eviction (no decision: those stay the engine's)
//	core/version    the build's version, commit and Go version
//	shard, wal, export   the leaves: counters, the log, the usage database
//	wal/datasync    how the log's files reach the disk (fsyncs that leave the P free)
//
// Nothing points upward: core/layering_test.go fails on an import the map does not allow,
// and on a package that is not on it.
//
// # One consumption
//
//	ConsumeRequest ──▶ resolve license (shard.Table, no lock)
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
// # One license, four shapes
//
// A license exists four times, because four readers need it at four speeds, and each field
// has one owner:
//
//	shard.License       the live balance of each credit and its window in saturated ns; the
//	                    only thing a decision reads and the only place units are taken. Owned
//	                    by the decision (Take, and AddCredit at provisioning).
//	license (here)      the live engine's entry: owner, item, product, the credits' ids and
//	                    exact windows as ordered, and a pointer to its shard.License. Owned by
//	                    provisioning; read by resolve and by License/OwnerLicenses.
//	record.License      the durable state's: the same metadata plus each credit's used count,
//	                    advanced only by the applier from logged records (and by replay). It is
//	                    what checkpoints hold and what the live counters are rebuilt from; it
//	                    trails the live counters by the records in flight.
//	LicenseView         an immutable snapshot for the API, built from license and the live
//	                    balances at one instant; nothing writes to it after.
//
// One model instead would put either the applier's bookkeeping on the hot path or the hot
// path's atomics in the checkpoint; keeping them apart is what lets a decision be one CAS.
//
// # Recovery
//
// Open loads the last checkpoint, replays the log tail, exports what the usage database does
// not hold yet and only then rebuilds the live counters, sessions and idempotency keys from
// the durable state. Anything that does not add up (a record that does not decode, a usage
// database ahead of the log or behind its truncation point) stops start-up with an error
// naming the file: a silently dropped record would be free units.
//
// # Vendor signatures
//
// The admin token that guards provisioning sits on the customer's machine. With
// VENDOR_PUBLIC_KEY_FILE set, PutProduct and Provision also require the vendor's Ed25519
// signature over METHOD SP PATH LF body (Signed), checked before anything else against the
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
