package export_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// wantRows is what a Detailed file written from as holds, row by row
// (batch aside, which the test checks on its own).
func wantRows(as []export.Action) []export.UsageRow {
	consumed := map[string]int64{}
	out := make([]export.UsageRow, len(as))
	for i, a := range as {
		events := int64(1)
		switch a.Kind {
		case export.Consume, export.Checkout:
			consumed[a.LicenseID] += a.Units
		case export.Unexported:
			consumed[a.LicenseID] += a.Units
			events = 0
		}
		out[i] = export.UsageRow{Seq: int64(i + 1), Time: a.Time.UTC().Format(time.RFC3339Nano), Action: a.Kind.String(),
			Owner: a.Owner, Item: a.Item, LicenseID: a.LicenseID, Units: a.Units, Events: events,
			LicenseConsumed: consumed[a.LicenseID], Session: a.Session, Username: a.Username, Hostname: a.Hostname,
			IPAddress: a.IPAddress, ExternalID: a.ExternalID, VendorSignature: a.VendorSignature, VendorRequest: a.VendorRequest}
	}
	return out
}

// dumpAll runs Dump and returns copies of the rows it handed out.
func dumpAll(t *testing.T, path string, key []byte) ([]export.UsageRow, *export.DumpInfo, error) {
	t.Helper()
	var rows []export.UsageRow
	info, err := export.Dump(path, key, func(r *export.UsageRow) error {
		rows = append(rows, *r)
		return nil
	})
	return rows, info, err
}

func marks(rows []export.UsageRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d:%s ", r.Seq, r.Mark)
	}
	return strings.TrimSpace(b.String())
}

func TestDumpRows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	key := testKey(t)
	as := buildGap(t, path, export.Detailed, key, agentA, 4, 5)
	want := wantRows(as)
	for _, k := range [][]byte{nil, key} {
		rows, info, err := dumpAll(t, path, k)
		if err != nil {
			t.Fatal(err)
		}
		mark := export.Unchecked
		if k != nil {
			mark = export.Verified
		}
		var batches []int64
		for i := range rows {
			batches = append(batches, rows[i].Batch)
			if rows[i].Mark != mark || rows[i].Problem != "" {
				t.Fatalf("key %v: row %d marked %v %q, want %v", k != nil, i+1, rows[i].Mark, rows[i].Problem, mark)
			}
			rows[i].Batch, rows[i].Mark = 0, 0
		}
		if !slices.Equal(rows, want) {
			t.Fatalf("key %v: got\n%+v\nwant\n%+v", k != nil, rows, want)
		}
		// write 1, then Reconcile's unexported row, then write 2
		if wb := []int64{1, 1, 1, 1, 2, 3, 3, 3, 3, 3}; !slices.Equal(batches, wb) {
			t.Fatalf("batches %v, want %v", batches, wb)
		}
		wantInfo := export.DumpInfo{Path: path, AgentID: agentA, Level: "detailed", Rows: 10, FirstSeq: 1, LastSeq: 10}
		if *info != wantInfo {
			t.Fatalf("key %v: info %+v, want %+v", k != nil, *info, wantInfo)
		}
	}
}

func TestDumpStandardAndEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := testKey(t)
	std := filepath.Join(dir, "std.db")
	build(t, std, export.Standard, key, agentB, 9)
	rows, info, err := dumpAll(t, std, key)
	if err != nil || info.Level != "standard" || info.AgentID != agentB || len(rows) == 0 || int64(len(rows)) != info.Rows {
		t.Fatalf("got %d rows, %+v, %v", len(rows), info, err)
	}
	for _, r := range rows {
		if r.Username+r.Hostname+r.IPAddress+r.Session != "" || r.Mark != export.Verified {
			t.Fatalf("standard row %+v: user data or not verified", r)
		}
	}
	empty := filepath.Join(dir, "empty.db")
	build(t, empty, export.Detailed, key, agentA)
	for _, k := range [][]byte{nil, key} {
		rows, info, err := dumpAll(t, empty, k)
		want := export.DumpInfo{Path: empty, AgentID: agentA, Level: "detailed"}
		if err != nil || len(rows) != 0 || *info != want {
			t.Fatalf("empty, key %v: %d rows, %+v, %v; want %+v", k != nil, len(rows), *info, err, want)
		}
	}
}

// TestDumpTampered: every row is handed out, marked where the chain breaks,
// and Verify's error comes last.
func TestDumpTampered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := testKey(t)
	orig := filepath.Join(dir, "orig.db")
	build(t, orig, export.Detailed, key, agentA, 6)
	cases := []struct {
		name, sql, marks, problem string
		seq                       int64 // of the VerifyError: 0 for the whole file, -1 for meta
	}{
		{"units changed", "UPDATE usage SET units = 99 WHERE seq = 3",
			"1:verified 2:verified 3:BAD 4:unverified 5:unverified 6:unverified", "mac mismatch", 3},
		{"first row changed", "UPDATE usage SET owner = 'users/eve' WHERE seq = 1",
			"1:BAD 2:unverified 3:unverified 4:unverified 5:unverified 6:unverified", "mac mismatch", 1},
		{"row deleted", "DELETE FROM usage WHERE seq = 4",
			"1:verified 2:verified 3:verified 5:BAD 6:unverified", "seq 4: row missing (next row is seq 5)", 4},
		{"type changed", "UPDATE usage SET units = '5' WHERE seq = 2",
			"1:verified 2:BAD 3:unverified 4:unverified 5:unverified 6:unverified", "mac mismatch", 2},
		{"meta changed", "UPDATE meta SET value = '2020-01-01T00:00:00Z' WHERE key = 'created'",
			"1:unverified 2:unverified 3:unverified 4:unverified 5:unverified 6:unverified", "", -1},
		{"index added", "CREATE INDEX extra ON usage(owner)",
			"1:unverified 2:unverified 3:unverified 4:unverified 5:unverified 6:unverified", "", 0},
		{"first row renumbered below 1", "UPDATE usage SET seq = -1 WHERE seq = 1",
			"-1:BAD 2:unverified 3:unverified 4:unverified 5:unverified 6:unverified", "seq 1: row numbered -1", 1},
		{"tail cut", "DELETE FROM usage WHERE seq = 6",
			"1:verified 2:verified 3:verified 4:verified 5:verified", "", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.db")
			copyFile(t, orig, path)
			execSQL(t, path, tc.sql)
			_, verr := export.Verify(path, key)
			rows, info, err := dumpAll(t, path, key)
			var ve *export.VerifyError
			if !errors.As(err, &ve) || err.Error() != verr.Error() {
				t.Fatalf("got %v, want Verify's %v", err, verr)
			}
			if got := marks(rows); got != tc.marks {
				t.Fatalf("marks %s, want %s", got, tc.marks)
			}
			if ve.Meta != (tc.seq < 0) || tc.seq >= 0 && ve.Seq != tc.seq {
				t.Fatalf("error %#v, want seq %d", ve, tc.seq)
			}
			for _, r := range rows {
				if wantP := map[bool]string{true: tc.problem}[r.Mark == export.Broken]; r.Problem != wantP {
					t.Fatalf("seq %d (%s): problem %q, want %q", r.Seq, r.Mark, r.Problem, wantP)
				}
			}
			if info.Rows != int64(len(rows)) || info.AgentID != agentA || info.LastSeq != rows[len(rows)-1].Seq {
				t.Fatalf("info %+v after %d rows", info, len(rows))
			}
			// Without the key the same rows come out, unmarked.
			plain, _, err := dumpAll(t, path, nil)
			if err != nil || len(plain) != len(rows) || plain[0].Mark != export.Unchecked {
				t.Fatalf("without key: %d rows, %v", len(plain), err)
			}
		})
	}
}

// TestDumpValuesAsStored: a value of the wrong type still reads, as what it
// holds, and the key marks it.
func TestDumpValuesAsStored(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	key := testKey(t)
	build(t, path, export.Detailed, key, agentA, 3)
	execSQL(t, path, "UPDATE usage SET units = '42', events = 2.9, license_consumed = x'01', owner = x'cafe', item = 7, license_id = 1.5, username = NULL WHERE seq = 2")
	rows, _, err := dumpAll(t, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rows[1]
	if r.Units != 42 || r.Events != 2 || r.LicenseConsumed != 0 || r.Owner != "cafe" || r.Item != "7" || r.LicenseID != "1.5" || r.Username != "" {
		t.Fatalf("row 2 read as %+v", r)
	}
	if rows, _, err := dumpAll(t, path, key); err == nil || rows[1].Mark != export.Broken {
		t.Fatalf("with key: %v, marks %s", err, marks(rows))
	}
}

func TestDumpStops(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	key := testKey(t)
	build(t, path, export.Detailed, key, agentA, 5)
	tampered := filepath.Join(t.TempDir(), "tampered.db")
	copyFile(t, path, tampered)
	execSQL(t, tampered, "UPDATE usage SET units = 99 WHERE seq = 2")
	stop := errors.New("stop")
	for _, tc := range []struct {
		path  string
		key   []byte
		after int
	}{{path, nil, 2}, {path, key, 2}, {tampered, key, 1}, {tampered, key, 3}} {
		calls := 0
		_, err := export.Dump(tc.path, tc.key, func(*export.UsageRow) error {
			calls++
			if calls == tc.after {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != tc.after {
			t.Fatalf("%s key %v: %d calls, %v; want %d and the callback's error", filepath.Base(tc.path), tc.key != nil, calls, err, tc.after)
		}
	}
}

func TestDumpNotUsageDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	execSQLCreate(t, other, "CREATE TABLE t(x)")
	text := filepath.Join(dir, "text.db")
	if err := os.WriteFile(text, []byte("not sqlite"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{other, text} {
		for _, k := range [][]byte{nil, testKey(t)} {
			if _, _, err := dumpAll(t, path, k); !errors.Is(err, export.ErrNotUsageDB) {
				t.Fatalf("%s key %v: %v, want ErrNotUsageDB", filepath.Base(path), k != nil, err)
			}
		}
	}
	if _, _, err := dumpAll(t, filepath.Join(dir, "missing.db"), nil); err == nil || errors.Is(err, export.ErrNotUsageDB) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestMarkString(t *testing.T) {
	t.Parallel()
	for m, want := range map[export.Mark]string{export.Unchecked: "", export.Verified: "verified",
		export.Broken: "BAD", export.Unverified: "unverified", 4: "Mark(4)", 9: "Mark(9)"} {
		if m.String() != want {
			t.Fatalf("Mark %d: %q, want %q", m, m.String(), want)
		}
	}
}
