package export_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// goldenTampers are the catalog entries kept as files in testdata, named
// tampered-<name>.db.
var goldenTampers = []string{
	"row-units", "row-username", "deleted-middle", "inserted-end", "swapped-contents", "renumbered-one",
	"tail-cut", "tail-cut-meta-adjusted", "meta-wal_seq", "meta-row-added", "spliced-row", "provision-signature-copied",
	"schema-trigger", "bytes-in-header", "truncated-half", "row-license_consumed", "unexported-deleted",
}

// makeGolden rewrites the databases in testdata: usage.db (standard),
// usage-detailed.db, and tampered copies of the detailed one.
func makeGolden(t *testing.T) {
	for _, old := range globDB(t) {
		os.Remove(old)
	}
	std := newFixture(t, t.TempDir(), export.Standard)
	copyFile(t, std.path, "testdata/usage.db")
	f := newFixture(t, t.TempDir(), export.Detailed)
	copyFile(t, f.path, "testdata/usage-detailed.db")
	byName := map[string]tamper{}
	for _, tc := range f.catalog() {
		byName[tc.name] = tc
	}
	for _, name := range goldenTampers {
		tc, ok := byName[name]
		if !ok {
			t.Fatalf("no tampering named %s", name)
		}
		path := "testdata/tampered-" + name + ".db"
		copyFile(t, f.path, path)
		tc.apply(t, path)
	}
}

func globDB(t *testing.T) []string {
	paths, err := filepath.Glob("testdata/*.db")
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// outcomeLine is how verify.golden records Verify's answer for a file.
func outcomeLine(s *export.Summary, err error) string {
	var ve *export.VerifyError
	switch {
	case err == nil:
		return fmt.Sprintf("ok level=%s rows=%d seq=%d-%d units=%d unexported=%d provisions=%d unsigned=%d head=%s", s.Level, s.Rows,
			s.FirstSeq, s.LastSeq, s.Units, len(s.Gaps), len(s.Transactions), s.SignatureCounts()[export.Unsigned], s.HeadMAC[:16])
	case errors.As(err, &ve):
		return "exit 1: " + strings.TrimPrefix(err.Error(), ve.Path+": ")
	case errors.Is(err, export.ErrNotUsageDB):
		return "exit 2: not a usage database"
	}
	return "exit 2: " + err.Error()
}

// TestGolden verifies the files in testdata, made by an earlier build: the
// format must not drift, and each tampered copy must keep failing the same
// way. Verify must leave every file as it was. Not parallel, so that Go runs it before the
// tests that read testdata: with -update it rewrites the files there, and it fails on any
// journal a reader of testdata would leave there for a moment.
func TestGolden(t *testing.T) {
	if *update {
		makeGolden(t)
	}
	key := testKey(t)
	var got strings.Builder
	for _, path := range globDB(t) {
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := export.Verify(path, key)
		fmt.Fprintf(&got, "%s: %s\n", filepath.Base(path), outcomeLine(s, err))
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Errorf("%s: Verify changed the file", path)
		}
	}
	for _, name := range files(t, "testdata") {
		if strings.HasSuffix(name, "-wal") || strings.HasSuffix(name, "-shm") || strings.HasSuffix(name, "-journal") {
			t.Errorf("Verify left %s behind", name)
		}
	}
	golden(t, "testdata/verify.golden", got.String())
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("got\n%s\nwant (%s; -update rewrites it)\n%s", got, path, want)
	}
}

// TestGoldenReproducible rebuilds the golden databases from the same
// actions: the chain must end at the same MAC, or the canonical encoding or
// MAC construction changed and old exports no longer verify.
func TestGoldenReproducible(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	f := func(golden string, level export.Level) {
		t.Helper()
		want, err := export.Verify(golden, key)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "usage.db")
		buildGap(t, path, level, key, agentA, 6, 5, 7)
		got, err := export.Verify(path, key)
		if err != nil {
			t.Fatal(err)
		}
		got.Path = want.Path
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, want %+v", *got, *want)
		}
	}
	f("testdata/usage.db", export.Standard)
	f("testdata/usage-detailed.db", export.Detailed)
}
