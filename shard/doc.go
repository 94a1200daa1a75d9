// Package shard makes the hot-path decision of meterd: take n units of a
// license only if n remain, all or nothing.
//
// # Model
//
// A License holds use-count credits. Each credit has a half-open validity
// window [from, until) in unix nanoseconds, a total and a balance. A credit is
// active at now iff from <= now < until. Take draws from the active credits in
// take order (earliest until first, ties by creation order), spilling from one
// credit into the next when the first cannot cover the request; either all n
// units are taken or none are. Credits are never removed, so a credit's index
// in creation order names it forever (Part.Credit, License.Credit).
//
//	License (128 bytes, aligned; the first 64 are all a decision reads)
//	  idBuf  the id's bytes, up to 36: a whole UUID string           36 B
//	  flags  credit 0 alone?; dense block state (atomic)              4 B
//	  c0     credit 0 inline: balance (atomic), from, until | total  40 B
//	  self   Table entry for the id, when the id is hashed           24 B
//	  value  what the caller attached (SetValue)                     16 B
//	  set    ──► creditSet (immutable, replaced by AddCredit)          8 B
//
//	creditSet
//	  byIndex: [c0 c1 c2]      creation order
//	  order:   [c2 c0 c1]      take order, precomputed
//	  lk ──► licenseLock{mu, spills}, one per license, shared by its sets
//	  c1, c2: paddedCredit, 128 bytes each
//
// Each credit's balance is an atomic integer in a 128-byte block of its own,
// so a CAS on it disturbs no other license or credit. Credit 0 shares its
// block only with fields of its own license; while it is the only credit, a
// Get by id and a Take read nothing but the block's first line. What only
// the slow paths need (the spill lock) hangs off the credit set, to leave
// room in the block for the id and the value.
//
// A Table maps string keys (license ids, and the aliases core registers) to
// licenses; lookups take no lock and allocate nothing. It has two parts:
//
//	dense:  [ ][L a][L a][ ][L a] ...  the Licenses of ids made by NewID, each
//	                                   in the block its number names, with
//	                                   room beside it for one alias entry (a)
//	slots:  hash table                 every other key: aliases, foreign ids
//
// # Numbered ids
//
// Table.NewID makes license ids that carry their own location: UUID strings
// (RFC 9562 version 8) whose first 32 bits are a number the table allocates
// and whose other 90 free bits are random. Table.NewLicense builds the
// License of such an id in the table's dense part, in the block the number
// names. Get recognises the shape, parses the number (eight hex digits, no
// loop), computes the block's address from it (the chunk directory is a few
// hundred bytes, always in cache) and compares the whole key with the id
// bytes in the block's first line, which Take then uses: one cache miss in
// all, where a hashed key waits for the hash slot, the entry and the
// License in turn. Aliases and ids not made by NewID go to the hash table,
// where a lookup by a license's own id still lands in the License block
// (self), and a license's first alias lands beside it.
//
// What numbered ids cost:
//
//   - Lookups stay exact: Get compares the whole key, always, and falls back
//     to the hash table on any mismatch. A numbered id whose block another
//     id holds already (a foreign id, or one NewID made before all ids from
//     disk were built) gets a License of its own and is hashed: slower,
//     never wrong.
//   - Uniqueness rests on the random bits, not the number: 90 random bits
//     make a collision between any two ids as unlikely as between version 4
//     UUIDs (122 bits) for all practical counts, and keep ids unguessable.
//   - Ids reveal the order in which they were made and so about how many
//     licenses the server has issued.
//   - The table, not the caller, knows the next number. At start-up every id
//     from disk must be built (Table.NewLicense) or Put before NewID makes
//     new ones; both raise the next number above every numbered id they
//     see, in any order, gaps and all. NewID after that never reuses such a
//     number; an id made but never built (a provisioning that failed)
//     leaves a gap, which costs an empty block.
//   - Memory: 256 bytes per number up to the highest built (a License and
//     its alias room, which a License allocated alone and its alias entry
//     would cost anyway), in 256 KiB chunks made on first use, so sparse
//     numbers cost a chunk each. Numbers at or above 2^26 are hashed and
//     not counted, so one stray id cannot blow the directory up; past 2^32
//     ids NewID's numbers wrap and repeat (hashed, still right).
//
// # Lifecycle
//
// At start-up core rebuilds each license with Table.NewLicense and
// AddCredit(from, until, total, used), attaches its own record with
// SetValue, registers its keys with Table.Put, and from then on answers
// requests with Table.Get and License.Take (or TakeInto). A new license
// gets its id from Table.NewID, after all ids from disk have been built. When the write-ahead log cannot
// persist a granted take, core hands the Result's Parts to Give. Nothing in
// this package persists anything.
//
// # Concurrency
//
// Every method of License and Table is safe for concurrent use. Take, Give
// and the readers never block one another: a Take that one credit can cover
// is a single compare-and-swap. Only a Take that must spill across credits
// takes the license's mutex, which AddCredit shares; the comment above spill
// in take.go says why. AddCredit copies the credit list on write and
// publishes it with one atomic store; Table.Put publishes each entry with
// atomic stores and copies the slot array or the dense directory only to
// grow it; NewID takes a number with one atomic add. Readers take no lock
// and always see a consistent snapshot: each key has one place, dense or
// hashed, and a Put that moves a key fills its new place before it marks the
// old one.
//
// Sums over several credits (Result.Remaining, License.Remaining, Used) are
// taken credit by credit and are exact only when nothing runs concurrently.
// Take order is exact too, except that while a spilling Take holds a credit's
// units it may yet give back, a concurrent Take sees that credit empty and
// draws on the next; no unit is lost or counted twice either way.
//
// shard answers with result values, not errors; a call that breaks the
// contract (n < 1, a Part that was never granted) panics with "BUG: shard: ...".
package shard
