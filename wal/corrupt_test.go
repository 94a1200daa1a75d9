package wal_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

// The keys of the documented on-disk format (doc.go).
func recordKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{'r'}, seq)
}

var checkpointKey = []byte("mcheckpoint")

func TestOpenCorrupt(t *testing.T) {
	// f builds a log of 10 records with a checkpoint at ck truncated through
	// tr, damages it with damage through Pebble directly, and expects Open to
	// name seq and a reason containing reason.
	f := func(name string, ck, tr uint64, damage func(db *pebble.DB) error, seq uint64, reason string) {
		t.Run(name, func(t *testing.T) {
			fs := vfs.NewMem()
			l := mustOpen(t, fs, wal.Options{})
			appendN(t, l, 10)
			commit(t, l, ck)
			if err := l.Truncate(tr); err != nil {
				t.Fatal(err)
			}
			mustClose(t, l)

			db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: quietLogger{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := damage(db); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			_, err = wal.Open("db", wal.Options{FS: fs})
			var ce *wal.CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: got %v, want *CorruptError", err)
			}
			if ce.Dir != "db" || ce.Seq != seq || !strings.Contains(ce.Reason, reason) {
				t.Fatalf("got %+v, want dir db, seq %d, reason containing %q", ce, seq, reason)
			}
			if want := fmt.Sprintf("wal: db: record %d: %s", seq, ce.Reason); err.Error() != want {
				t.Fatalf("Error(): got %q, want %q", err.Error(), want)
			}
		})
	}
	del := func(seq uint64) func(*pebble.DB) error {
		return func(db *pebble.DB) error { return db.Delete(recordKey(seq), pebble.Sync) }
	}
	set := func(key, value []byte) func(*pebble.DB) error {
		return func(db *pebble.DB) error { return db.Set(key, value, pebble.Sync) }
	}
	frame := func(version byte, crc uint32, payload string) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{version}, crc), payload...)
	}
	f("Gap", 0, 0, del(5), 5, "missing")
	f("LastBelowCheckpoint", 10, 0, del(10), 10, "missing: the checkpoint is at 10")
	f("MissingFirstAfterTruncation", 5, 5, del(6), 6, "missing")
	f("BadCRC", 0, 0, set(recordKey(3), frame(1, 0xdeadbeef, "payload")), 3, "checksum mismatch")
	f("ShortFrame", 0, 0, set(recordKey(4), []byte{1, 2}), 4, "shorter than its header")
	f("UnknownVersion", 0, 0, set(recordKey(6), frame(9, 0, "")), 6, "unknown frame version 9")
	f("BelowTruncationMark", 5, 5, set(recordKey(2), frame(1, 0, "")), 2, "below the truncation mark 5")
	f("CheckpointBeyondLast", 0, 0, set(checkpointKey, binary.BigEndian.AppendUint64(nil, 50)), 11, "the checkpoint is at 50")
	// A checkpoint moved back below the truncation mark: the records between are gone, and
	// the state does not cover them.
	f("CheckpointBelowTruncation", 8, 8, set(checkpointKey, binary.BigEndian.AppendUint64(nil, 3)), 4,
		"truncated through 8 but the checkpoint is at 3")
}
