// Package order is a license transaction as the vendor orders it (10Duke's Order): its items,
// what makes one well-formed, and the digest that tells an order resent under its externalId
// from a different one. The digest is kept in the log and the checkpoint, so its bytes are as
// fixed as theirs: it is built from core/record's primitives.
//
// What an order provisions (which license each item credits, with how many units) is core's.
package order
