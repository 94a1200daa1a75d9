// Package record is the byte format of what the engine persists: the records it appends to
// the write-ahead log (record.go, batch.go, txcodec.go) and the values of its checkpoints in
// the wal state store (state.go), with the readers of every older format that a data directory
// may still hold (txlegacy.go, the *NS windows).
//
// It owns bytes and nothing else: what a record means, and whether it may be applied, is
// core's. Its one rule is that what it encodes it decodes back exactly, and that anything else
// is ErrBadRecord, never a guess: a record read wrongly is free units or lost ones. The bytes
// of earlier builds are fixed; core/testdata holds a data directory they wrote, which core's
// TestRecoverEarlierBuild recovers.
package record
