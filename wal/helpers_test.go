package wal_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

func mustOpen(t testing.TB, fs vfs.FS, opts wal.Options) *wal.Log {
	t.Helper()
	opts.FS = fs
	l, err := wal.Open("db", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func mustClose(t testing.TB, l *wal.Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// payload is the record the tests append as number i of writer w.
func payload(w, i int) []byte {
	return fmt.Appendf(nil, "writer=%d i=%d %s", w, i, "consume owner=organizations/acme item=PdfPro units=4")
}

// readAll returns every stored record by seq.
func readAll(t testing.TB, l *wal.Log) map[uint64]string {
	t.Helper()
	got := map[uint64]string{}
	err := l.Records(l.FirstSeq(), math.MaxUint64, func(seq uint64, rec []byte) error {
		got[seq] = string(rec)
		return nil
	})
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	return got
}
