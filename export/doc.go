// Package export writes the signed SQLite usage database that a customer's
// agent sends to the software vendor, and verifies, ledgers and totals it on
// the vendor's side.
//
// # Lifecycle
//
// Agent side: Open the database (it is created with its schema and meta on
// first use; later opens check that it belongs to this agent, key and usage
// level and that its head is intact), feed a Batcher the pay-per-use
// actions in WAL order (Add each action, then Advance once the record is
// done, for records without actions too), Flush between records once it is
// Due (USAGE_WRITE_INTERVAL actions pending; the actions of one record, such
// as a provision of several items, share its WAL seq and are written
// together), and Close it at shutdown after a final Flush. At start-up,
// before the first Flush, Reconcile tells it what each license has consumed
// in all as of the watermark: what the chain lacks is written as unexported
// rows. Flush calls
// DB.Write, which appends the rows, the new chain head and
// the WAL watermark (wal_seq) in one transaction with synchronous=FULL, so
// a committed write survives a power cut before the
// agent lets go of the WAL records behind it. Write skips actions at or
// below wal_seq: a crash between the write and the caller's next step never
// writes a row twice. Close checkpoints and switches the file back to the
// DELETE journal, so what the customer sends is one self-contained file the
// stock sqlite3 shell opens read-only.
//
// Vendor side: Verify checks a file, a Ledger remembers per agent the last
// accepted head, Report totals billable use per owner, item and period
// after verifying every file, ProvisionReport lists the provisioning
// transactions with what their vendor signatures show, and Dump streams
// every row, each marked by the chain when given the key. GenerateVendorKey,
// SignRequest and CheckSignature are the vendor's Ed25519 signing key, its
// signature of one provisioning request, and the agent's check of it.
//
// # Segments (schema_version 3)
//
// With Options.Rotate the file is one segment of the agent's chain: a row dated past its UTC
// period seals it and continues the chain in a new file (rotate.go, step by step, with what a
// crash at each step leaves). A segment's meta adds segment (1, 2, ...), prev_head_seq and
// prev_head_mac (the previous segment's head: its first row chains from that MAC and takes the
// next seq) and period ("2026-12", "2026-12-06", or "" when rotation was switched off). Its
// rows lie in the period, and it opens with a carry row per license that has consumed
// anything: action carry, units 0, events 0, its license_consumed where the previous segment
// left it, at the period's first instant. So a segment verifies and bills alone, and VerifySet
// and the reports, given an agent's segments together, check that each joins the one before
// and that every carried counter is the one left behind.
//
// # Concurrency
//
// DB methods are safe for concurrent use (Write from the export goroutine,
// Writable from /healthz); the DB holds one SQLite connection and a mutex.
// Batcher and Ledger are not safe for concurrent use.
//
// # File format (schema_version 2)
//
//	meta(key TEXT PRIMARY KEY, value TEXT)       all values text
//	  schema_version  "2"
//	  agent_id        random id of the agent's data directory
//	  key_id          first 16 hex digits of SHA-256(key)
//	  usage_level     "standard" | "detailed"
//	  created         RFC 3339 UTC, when the file was made
//	  head_seq        seq of the last row, "0" when empty
//	  head_mac        hex MAC of the last row (the chain start when empty)
//	  wal_seq         highest agent WAL seq exported (the watermark)
//	  agent_version   the build that last opened the file for writing
//	                  (optional: older agents wrote no such row)
//	  meta_mac        hex HMAC over every other meta row (below)
//
//	usage(seq INTEGER PRIMARY KEY, batch INTEGER, time TEXT, action TEXT,
//	      owner TEXT, item TEXT, license_id TEXT, units INTEGER,
//	      events INTEGER, license_consumed INTEGER, session TEXT,
//	      username TEXT, hostname TEXT, ipaddress TEXT, external_id TEXT,
//	      vendor_signature TEXT, vendor_request TEXT, mac BLOB NOT NULL)
//	index usage_license ON usage(license_id, seq)
//
//	  seq     1, 2, 3, ... without gaps
//	  batch   number of the write that made the row: 1, 2, ...
//	  time    RFC 3339 UTC (fraction trimmed, "Z"); never before the
//	          previous row's
//	  action  provision | consume | checkout | checkin | unexported | carry
//	  units   provision: use count granted; consume, checkout: units taken;
//	          unexported: units consumed that no other row holds
//	  events  actions the row stands for; 0 for unexported (not known)
//	  license_consumed
//	          the license's all-time consumed units after this row: the
//	          previous row of the license's, plus units for consume,
//	          checkout and unexported, unchanged for provision and checkin
//	          (0 before the license's first row)
//	  external_id
//	          provision: the transaction's externalId; NULL in other rows
//	  vendor_signature, vendor_request
//	          the first item row of a vendor-signed transaction: the
//	          Meterd-Signature value "ed25519=<base64>" and the bytes it
//	          signs, METHOD SP PATH LF body, exactly as the agent received
//	          and checked them; NULL in every other row
//
// Standard level writes one row per batch, license, action and UTC day:
// events is the number of actions, units their sum, time the first one's,
// and session, username, hostname and ipaddress are NULL, so the file holds
// no user data. The day in the key keeps `meterctl report -by day` exact
// when a batch crosses midnight. Provisions are the exception: one row per
// transaction item, events = 1, so that each row can name its order.
// Detailed level writes one row per action, events = 1, with the user
// columns (NULL where the action had none).
//
// # Provisioning evidence
//
// The admin token that provisions units sits on the customer's machine,
// so a provision row alone does not prove the vendor sold what it grants.
// An agent with a vendor public key accepts only provisioning requests the
// vendor signed with Ed25519, and writes the signature with the request it
// covers into the transaction's first provision row, under the MAC chain
// like every column. Verify with the vendor's public key
// (VerifyOptions.VendorKey) then names each transaction (Transaction)
// signed, unsigned or badly signed; a signature counts as valid only if it
// verifies, covers POST /<owner>/license-transactions of the rows' owner
// and a body whose transaction externalId is the rows' external_id, and
// that body has as many items as the transaction has rows. Units are not in
// the signed body (quantity × the product's creditAmount), so the vendor
// matches them against its own order: ProvisionReport lists them per
// externalId. Whether a signature verifies does not decide whether the
// file does: an unsigned provision is the customer's word, which the vendor
// weighs, not damage.
//
// # Cumulative counters and unexported rows
//
// The chain alone proves that the rows are the agent's, not that they are
// all the agent consumed: a usage database switched off for a while, or
// one restored to an older copy, holds a valid chain with units missing.
// license_consumed makes the agent's own total part of every row. A row of
// a license carries what the license has consumed in all, so units that
// reached no row show as a jump in the counter: the agent writes them as an
// unexported row (Reconcile, at start-up, from its durable state), and a
// file that jumps without one fails Verify, which names the license, the
// two rows and the units. Report bills each row what it moved its counter.
// Times never decrease along the chain, so a clock set back cannot
// back-date rows either.
//
// # The MAC chain
//
//	start   = HMAC-SHA256(key, agent_id)
//	mac[1]  = HMAC-SHA256(key, start    ‖ canon(row 1))
//	mac[n]  = HMAC-SHA256(key, mac[n-1] ‖ canon(row n))
//	head_mac = hex(mac[head_seq])
//
//	          ┌───────────────┐      ┌───────────────┐      ┌───────────────┐
//	start ──▶ │ seq 1 … mac 1 │ ──▶  │ seq 2 … mac 2 │ ──▶  │ seq 3 … mac 3 │ ◀── meta head_seq,
//	          └───────────────┘      └───────────────┘      └───────────────┘     head_mac (under meta_mac)
//
// canon(row) is every column but mac, in table order, each as a type tag
// (SQLite's storage class numbers) and its value:
//
//	1 INTEGER  tag, 8 bytes big-endian two's complement
//	2 REAL     tag, 8 bytes big-endian IEEE 754 bits
//	3 TEXT     tag, 4-byte big-endian length, the bytes
//	4 BLOB     tag, 4-byte big-endian length, the bytes
//	5 NULL     tag
//
// The encoding is unambiguous (it decodes back, see FuzzCanon), and the tag
// means that changing a value's type, NULL included, breaks the MAC even
// where SQLite would show the same text.
//
//	meta_mac = HMAC-SHA256(key, "meterd usage meta v1\x00" ‖
//	             for each meta row but meta_mac, sorted by key:
//	             encode(TEXT key) ‖ encode(value as stored))
//
// Because meta_mac covers every other meta row, an added, removed or
// changed meta row is caught; because head_seq and head_mac sit under it, so
// is a tail cut off the usage table. Changing, deleting, inserting,
// reordering or renumbering a row breaks the chain at that row; rows
// spliced in from another agent's file break it too, since chains start at
// the agent's own MAC.
//
// # Verification
//
// Verify opens the file read-only (immutable when it is in WAL mode with no
// WAL beside it) and reports the first problem:
//
//   - no SQLite header, SQLite's "not a database", no meta or usage table,
//     or an unknown schema_version: ErrNotUsageDB (meterctl exits 2, as for
//     I/O errors);
//   - an added, altered or missing schema object (index, trigger, view,
//     column): a *VerifyError naming the schema;
//   - meta: meta_mac (reported as "signed by key X, not Y" when key_id
//     differs), then the fields;
//   - rows in seq order: seq == previous + 1 from 1, mac is a 32-byte blob,
//     the MAC chain, then the values (action, RFC 3339 UTC time no earlier
//     than the previous row's, types, units >= 0, events >= 1 (0 for
//     unexported, 1 for provision), no user data at standard level or in
//     unexported rows, external_id text in provision rows, the evidence
//     columns NULL in every other row, vendor_signature and vendor_request
//     text together or NULL together, a signature in its one spelling),
//     then the license's counter;
//   - head_seq and head_mac against the last row.
//
// A file with a valid SQLite header that SQLite reports as corrupt (a page
// overwritten, the file truncated) is damage or tampering: a *VerifyError.
// PRAGMA integrity_check runs first; when it fails the logical checks still
// run to name the row or meta, and the integrity message is added to the
// reason; when they find nothing, the damage is reported alone.
//
// # What the chain cannot stop
//
// The key sits on the customer's machine: whoever extracts it can forge a
// whole file. And an old valid file, or a data directory restored from
// backup, verifies on its own. The vendor Ledger closes the last two: it
// accepts an export only if its chain passes through the agent's last
// accepted head ("replayed" or "fork at seq N" otherwise).
// What the usage key cannot forge is the vendor's signature: a forger can
// write provision rows, but not ones the vendor key calls signed.
//
// # Designs rejected
//
// One MAC over the whole file: every write would rehash the file, and the
// vendor could not name the first bad row. STRICT tables: sqlite3 shells
// before 3.37 cannot open them; the type tags in canon do their job.
// Signing rows without chaining: a deleted or reordered row would go
// unnoticed.
// The vendor's signature on every item row of a transaction: an order of
// 1,000 items would repeat a 64 KiB request 1,000 times; the first row
// carries it and the others name the externalId. The signature as a BLOB:
// as text it reads in the sqlite3 shell as the header the agent received.
// A missing or bad vendor signature failing Verify: the chain proves the
// rows are the agent's, and a file that failed would also keep its
// consumption off the bill; what an unsigned provision is worth is the
// vendor's call, made with the transaction in front of it.
package export
