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
//	License (128 bytes, one aligned line pair)
//	  c0: credit 0 inline: balance (atomic), from, until, total, index
//	  self: Table entry for the id, id bytes inline
//	  set ──► creditSet (immutable, replaced by AddCredit)
//	            byIndex: [c0 c1 c2]      creation order
//	            order:   [c2 c0 c1]      take order, precomputed
//	                                     c1, c2: paddedCredit, 128 bytes each
//
// Each credit's balance is an atomic integer in a 128-byte block of its own,
// so a CAS on it disturbs no other license or credit. Credit 0 shares its
// block only with fields of its own license; while it is the only credit, a
// Take reads nothing but that block.
//
// A Table maps string keys (license ids, and the aliases core registers) to
// licenses; lookups take no lock and allocate nothing. A lookup by id lands
// in the License's own block, so Table.Get followed by Take on a
// single-credit license touches two places in memory: the table slot and the
// License.
//
// # Lifecycle
//
// At start-up core rebuilds each license with NewLicense and AddCredit(from,
// until, total, used), registers its keys with Table.Put, and from then on
// answers requests with Table.Get and License.Take. When the write-ahead log
// cannot persist a granted take, core hands the Result's Parts to Give.
// Nothing in this package persists anything.
//
// # Concurrency
//
// Every method of License and Table is safe for concurrent use. Take, Give
// and the readers never block one another: a Take that one credit can cover
// is a single compare-and-swap. Only a Take that must spill across credits
// takes the license's mutex, which AddCredit shares; the comment above spill
// in take.go says why. AddCredit copies the credit list on write and
// publishes it with one atomic store; Table.Put publishes each entry with
// atomic stores and copies the slot array only to grow it. Readers take no
// lock and always see a consistent snapshot.
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
