// Package wal is meterd's write-ahead log and state store: a log of opaque
// records with gapless sequence numbers, group-committed to one Pebble
// database, plus checkpointed state keys that let the log be truncated.
//
// The package moves bytes and knows nothing of licenses: core encodes the
// records and the state.
//
// # Lifecycle
//
//	l, err := wal.Open(dir, wal.Options{Durability: wal.Sync})
//	// start-up: load the state, replay the tail
//	l.State(func(k, v []byte) error { ... })
//	l.Records(l.CheckpointSeq()+1, math.MaxUint64, func(seq uint64, rec []byte) error { ... })
//	// running
//	seq, err := l.Append(rec)     // from many goroutines
//	ck := l.NewCheckpoint(upTo)   // upTo <= l.DurableSeq(): the state as of upTo
//	ck.Set(k, v)
//	err = ck.Commit()
//	err = l.Truncate(through)     // through <= upTo: records the state now covers
//	err = l.Close()
//
// Replay order is seq order. Open fails closed: the stored records must run
// contiguously from the truncation mark + 1 to the last one, every frame must
// decode, and truncation mark <= checkpoint seq <= last seq; otherwise Open
// returns a *CorruptError naming the directory and the seq. The only damage
// accepted is the one Pebble accepts itself: a torn tail of its newest WAL
// file, which can only hold records whose fsync had not completed, i.e.
// records never acknowledged in Sync mode.
//
// # Durability
//
// Sync: Append returns nil only after an fsync that covers its record
// returned nil. Concurrent Appends share Pebble batches and fsyncs (see the
// pipeline comment in commit.go). On the default file system (DefaultFS) the
// fsync leaves its goroutine's P to others while the Ps are busy (package
// datasync).
//
// Async: Append returns once the record has its seq in its group (the
// group's leader returns once Pebble has accepted the group into its WAL
// buffer and memtable, which it does after one yield of the processor);
// Pebble's WAL flusher writes it to the OS as soon as it is not busy with an
// fsync, and fsyncs at most once per SyncInterval (Pebble's
// WALMinSyncInterval). Loss bound: a power cut loses at most the records
// acknowledged in the last SyncInterval plus one fsync time; a plain process
// kill loses at most those acknowledged while the flusher was busy with its
// last fsync or their leader had yet to hand their group over (normally well
// under a millisecond, one slow fsync at worst). Past 64 groups waiting for one delayed fsync (a burst), further
// groups are handed over without a sync request rather than making Append
// wait; Pebble writes them to the OS as its 32 KiB blocks fill, so a process
// kill can then lose up to a block or a SyncInterval of them, whichever is
// less, and the next fsync covers them.
// DurableSeq and Durable tell which records are safe.
//
// In both modes a record is visible to Records (and counted by LastSeq) as
// soon as its group is handed to Pebble, before its fsync: in Sync mode before
// its Append returns, in Async mode possibly just after. Readers that must not
// see records a crash could take away stop at DurableSeq.
//
// # Failure
//
// A failed WAL write or fsync is sticky: the groups it concerns get an error
// wrapping ErrUnavailable and the cause, Err reports it, and every later
// Append fails fast. Records of a group whose fsync failed may still be in the
// OS cache, so they may reappear after a restart: an Append that failed is
// "not acknowledged", not "not written".
//
// # Concurrency
//
// Every method of Log is safe for concurrent use. Callbacks passed to Records
// and State must not call Close. OnCommit and Logger run inside the pipeline,
// possibly concurrently (see Options).
//
// # On-disk format
//
// One Pebble database. Keys, with integers big-endian so that Pebble's order
// is seq order:
//
//	'm' "version"      -> uint64 format version (2)
//	'm' "checkpoint"   -> uint64 seq the state keys are at (absent: 0)
//	'm' "truncated"    -> uint64 highest seq deleted by Truncate (absent: 0)
//	'r' seq (8 bytes)  -> frame of the records up to and including seq
//	's' key            -> value (caller's state key, arbitrary bytes)
//
// Each commit group is one key: its records, in one frame, under the seq of
// the last one, so that the first key at or after a seq is the group holding
// it. Records are framed so that damage is found at Open, not at replay time
// in core. A group frame (version 2):
//
//	+---------+------------------+------------+-----------------------------+
//	| version | CRC-32C(rest)    | count n    | n x (uvarint len, record)   |
//	| 1 byte  | 4 bytes, BE      | 4 bytes, BE| the caller's records        |
//	+---------+------------------+------------+-----------------------------+
//	  0x02      Castagnoli          >= 1        lengths in their shortest form
//
// The group holds seqs key-n+1 .. key. Truncate deletes whole groups only
// (those whose last seq is at or below the mark), so the first stored group
// may begin below the truncation mark; what lies there is never served.
//
// Format version 1 stored every record under its own seq, in a single-record
// frame that Open and Records still read, and that a log of version 1 keeps
// until it is truncated (Open moves such a log to version 2):
//
//	+---------+---------------------+------------------+
//	| version | CRC-32C(payload)    | payload          |
//	| 1 byte  | 4 bytes, big-endian | len(value)-5     |
//	+---------+---------------------+------------------+
//	  0x01      Castagnoli polynomial  the caller's record, verbatim
//
// wal/testdata/frames.golden and groups.golden hold known frames; go test
// ./wal -run Golden -update rewrites them.
//
// # Pebble tuning
//
// See the constants in options.go: a 4 MiB memtable with at most 2 queued
// (WAL files are freed per flushed memtable and a few are kept for reuse,
// which puts the disk used by the log at about 18 MiB when truncation keeps
// up), Pebble's
// default Snappy compression (cheap, and it shrinks flushes that compete with
// WAL fsyncs), a 4 MiB block cache (reads are replay and export of recent
// records, mostly memtable hits), no background WAL syncs (WALBytesPerSync 0:
// every fsync is one an Append waits for), and FormatNewest, whose WAL sync
// chunks let Pebble tell a torn tail from corruption in the middle of a WAL
// file. Truncate writes one range
// tombstone; flushes and compactions drop the covered records.
//
// Pebble's Fatalf does not return: Options.Logger receives the message, the
// log is marked failed, and the call panics; inside the log's apply that
// panic becomes the sticky failure, elsewhere (a failed MANIFEST write during a
// flush) it ends the process as Pebble's default logger would.
package wal
