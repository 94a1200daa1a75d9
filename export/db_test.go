package export_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

func TestOpenCreates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	if db.ExportedSeq() != 0 || db.HeadSeq() != 0 {
		t.Fatalf("got exported %d, head %d; want 0, 0", db.ExportedSeq(), db.HeadSeq())
	}
	if err := db.Writable(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 3 { // WAL mode while open
		t.Fatalf("directory holds %v, want usage.db, -wal and -shm", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(queryStrings(t, path, "SELECT key, value FROM meta WHERE key NOT LIKE '%mac' ORDER BY key"), " ")
	want := "agent_id|" + agentA + " created|2026-11-30T12:00:00Z head_seq|0 key_id|" + export.KeyID(testKey(t)) +
		" schema_version|2 usage_level|detailed wal_seq|0"
	if got != want {
		t.Fatalf("got meta %s, want %s", got, want)
	}
	s, err := export.Verify(path, testKey(t))
	if err != nil || s.Rows != 0 || s.AgentID != agentA {
		t.Fatalf("got %+v, %v; want an empty database of %s", s, err, agentA)
	}
}

func TestOpenMismatch(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	build(t, path, export.Standard, testKey(t), agentA, 3)
	f := func(level export.Level, key []byte, agent, field string) {
		t.Helper()
		_, err := export.Open(export.Options{Path: path, Key: key, Level: level, AgentID: agent})
		if !errors.Is(err, export.ErrMismatch) || !strings.Contains(err.Error(), path+": "+field) {
			t.Fatalf("got %v, want ErrMismatch naming %s and %s", err, path, field)
		}
	}
	f(export.Standard, testKey(t), agentB, "agent_id")
	f(export.Standard, otherKey(), agentA, "key_id")
	f(export.Detailed, testKey(t), agentA, "usage_level")
}

func TestOpenChecksHead(t *testing.T) {
	t.Parallel()
	pristine := filepath.Join(t.TempDir(), "usage.db")
	build(t, pristine, export.Detailed, testKey(t), agentA, 4, 4)
	f := func(script string, wantSeq int64, wantMeta bool) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "usage.db")
		copyFile(t, pristine, path)
		execSQL(t, path, script)
		_, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Detailed, AgentID: agentA})
		var ve *export.VerifyError
		if !errors.As(err, &ve) || ve.Seq != wantSeq || ve.Meta != wantMeta {
			t.Fatalf("%s: got %v, want a VerifyError with seq %d, meta %v", script, err, wantSeq, wantMeta)
		}
	}
	f("UPDATE usage SET units = units + 1 WHERE seq = 8", 8, false)
	f("UPDATE usage SET mac = (SELECT mac FROM usage WHERE seq = 1) WHERE seq = 7", 8, false)
	f("DELETE FROM usage WHERE seq = 8", 0, true)
	f("UPDATE meta SET value = '9' WHERE key = 'wal_seq'", 0, true)
	f("CREATE INDEX i ON usage(owner)", 0, false)
}

func TestOpenNotUsageDB(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notes.db")
	execSQLCreate(t, path, "CREATE TABLE notes(body TEXT)")
	_, err := export.Open(export.Options{Path: path, Key: testKey(t), AgentID: agentA})
	if !errors.Is(err, export.ErrNotUsageDB) {
		t.Fatalf("got %v, want ErrNotUsageDB", err)
	}
}

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	f := func(o export.Options) {
		t.Helper()
		if _, err := export.Open(o); err == nil {
			t.Fatalf("Open(%+v) succeeded", o)
		}
	}
	f(export.Options{Key: testKey(t), AgentID: agentA})
	f(export.Options{Path: path, Key: testKey(t)[:16], AgentID: agentA})
	f(export.Options{Path: path, Key: testKey(t)})
	f(export.Options{Path: path, Key: testKey(t), AgentID: agentA, Level: 7})
}

func TestWriteDetailedRows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	as := actions(1, 6)
	as[2].Session, as[2].Hostname = "", "" // written as NULL
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	n1, err1 := db.Write(as[:4], as[3].WALSeq)
	n2, err2 := db.Write(as[4:], 100)
	if err1 != nil || err2 != nil || n1 != 4 || n2 != 2 {
		t.Fatalf("got %d, %v and %d, %v; want 4 and 2 rows", n1, err1, n2, err2)
	}
	if db.HeadSeq() != 6 || db.ExportedSeq() != 100 {
		t.Fatalf("got head %d, exported %d; want 6, 100", db.HeadSeq(), db.ExportedSeq())
	}
	db.Close()
	got := queryStrings(t, path, "SELECT seq, batch, time, action, owner, item, license_id, units, events, session, username, hostname, ipaddress, length(mac) FROM usage ORDER BY seq")
	for i, a := range as {
		batch := 1 + i/4
		want := fmt.Sprintf("%d|%d|%s|%s|%s|%s|%s|%d|1|%s|%s|%s|%s|32", i+1, batch, a.Time.UTC().Format(time.RFC3339Nano), a.Kind,
			a.Owner, a.Item, a.LicenseID, a.Units, nullIfEmpty(a.Session), a.Username, nullIfEmpty(a.Hostname), a.IPAddress)
		if got[i] != want {
			t.Errorf("row %d: got %s, want %s", i+1, got[i], want)
		}
	}
}

func nullIfEmpty(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

func TestWriteStandardAggregates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	at := func(hhmm string) time.Time {
		tm, _ := time.Parse("2006-01-02 15:04", hhmm)
		return tm
	}
	a := func(seq uint64, tm string, k export.ActionKind, lic string, units int64) export.Action {
		return export.Action{WALSeq: seq, Time: at(tm), Kind: k, Owner: "users/" + lic, Item: "Item-" + lic, LicenseID: lic,
			Units: units, Session: "secret-session", Username: "secret-user", Hostname: "secret-host", IPAddress: "192.0.2.99"}
	}
	batch1 := []export.Action{
		a(1, "2026-12-01 23:58", export.Consume, "L1", 2),
		a(2, "2026-12-01 23:59", export.Consume, "L2", 5),
		a(3, "2026-12-01 23:59", export.Consume, "L1", 3),
		a(4, "2026-12-01 23:59", export.Checkout, "L1", 1),
		a(5, "2026-12-02 00:01", export.Consume, "L1", 4), // next UTC day: its own row
		a(6, "2026-12-02 00:02", export.Checkin, "L1", 0),
	}
	batch2 := []export.Action{
		a(7, "2026-12-02 00:03", export.Consume, "L1", 10), // next batch: its own row
		a(8, "2026-12-02 00:04", export.Consume, "L1", 1),
	}
	db := openDB(t, path, export.Standard, testKey(t), agentA)
	n1, err1 := db.Write(batch1, 6)
	n2, err2 := db.Write(batch2, 8)
	db.Close()
	if err1 != nil || err2 != nil || n1 != 5 || n2 != 1 {
		t.Fatalf("got %d, %v and %d, %v; want 5 and 1 rows", n1, err1, n2, err2)
	}
	got := strings.Join(queryStrings(t, path, "SELECT seq, batch, time, action, license_id, units, events, "+
		"coalesce(session, username, hostname, ipaddress, 'none') FROM usage ORDER BY seq"), "\n")
	want := strings.Join([]string{
		"1|1|2026-12-01T23:58:00Z|consume|L1|5|2|none",
		"2|1|2026-12-01T23:59:00Z|consume|L2|5|1|none",
		"3|1|2026-12-01T23:59:00Z|checkout|L1|1|1|none",
		"4|1|2026-12-02T00:01:00Z|consume|L1|4|1|none",
		"5|1|2026-12-02T00:02:00Z|checkin|L1|0|1|none",
		"6|2|2026-12-02T00:03:00Z|consume|L1|11|2|none",
	}, "\n")
	if got != want {
		t.Fatalf("got rows\n%s\nwant\n%s", got, want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "secret") || strings.Contains(string(raw), "192.0.2.99") {
		t.Fatal("a standard-level file holds user data")
	}
}

func TestWriteIdempotent(t *testing.T) {
	t.Parallel()
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		t.Run("level="+level.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.db")
			as := actions(1, 20)
			db := openDB(t, path, level, testKey(t), agentA)
			write := func(from, to int) int {
				t.Helper()
				n, err := db.Write(as[from:to], as[to-1].WALSeq)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			write(0, 10)
			head := db.HeadSeq()
			if n := write(0, 10); n != 0 || db.HeadSeq() != head {
				t.Fatalf("the same actions again wrote %d rows (head %d, was %d)", n, db.HeadSeq(), head)
			}
			write(5, 20) // overlaps the first write
			db.Close()
			want := export.Summary{Rows: 20, Units: billable(as)}
			if level == export.Standard {
				ref := filepath.Join(t.TempDir(), "ref.db") // the same two batches, no overlap
				build(t, ref, level, testKey(t), agentA, 10, 10)
				s, _ := export.Verify(ref, testKey(t))
				want.Rows = s.Rows
			}
			s, err := export.Verify(path, testKey(t))
			if err != nil || s.Rows != want.Rows || s.LastSeq != want.Rows || s.Units != want.Units {
				t.Fatalf("got %+v, %v; want %d rows, %d units", s, err, want.Rows, want.Units)
			}
		})
	}
}

// TestWriteSharedSeq writes a record with several actions (a provision of
// several items): they share the WAL seq, and replaying it writes nothing.
func TestWriteSharedSeq(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "usage.db"), export.Detailed, testKey(t), agentA)
	defer db.Close()
	as := actions(7, 3)
	for i := range as {
		as[i].WALSeq = 7
	}
	if n, err := db.Write(as, 7); n != 3 || err != nil {
		t.Fatalf("got %d, %v; want 3 rows", n, err)
	}
	if n, err := db.Write(as, 7); n != 0 || err != nil || db.HeadSeq() != 3 {
		t.Fatalf("replay: got %d, %v, head %d; want nothing written", n, err, db.HeadSeq())
	}
}

func TestWriteWatermarkOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	if n, err := db.Write(nil, 50); n != 0 || err != nil || db.ExportedSeq() != 50 {
		t.Fatalf("got %d, %v, exported %d; want 0 rows, exported 50", n, err, db.ExportedSeq())
	}
	if n, err := db.Write(nil, 40); n != 0 || err != nil || db.ExportedSeq() != 50 {
		t.Fatalf("an older watermark: got %d, %v, exported %d; want it ignored", n, err, db.ExportedSeq())
	}
	db.Close()
	if got := queryStrings(t, path, "SELECT value FROM meta WHERE key = 'wal_seq'")[0]; got != "50" {
		t.Fatalf("got wal_seq %s, want 50", got)
	}
	if _, err := export.Verify(path, testKey(t)); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRejects(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	defer db.Close()
	f := func(through uint64, mutate func(as []export.Action)) {
		t.Helper()
		as := actions(1, 3)
		mutate(as)
		_, err := db.Write(as, through)
		if !errors.Is(err, export.ErrInvalidAction) || db.HeadSeq() != 0 {
			t.Fatalf("got %v (head %d), want ErrInvalidAction and nothing written", err, db.HeadSeq())
		}
		if err := db.Writable(); err == nil {
			t.Fatal("Writable is nil after a failed write")
		}
	}
	f(100, func(as []export.Action) { as[1].WALSeq = as[0].WALSeq - 1 })
	f(4, func(as []export.Action) {})
	f(100, func(as []export.Action) { as[1].Kind = 0 })
	f(100, func(as []export.Action) { as[1].Kind = export.Checkin + 1 })
	f(100, func(as []export.Action) { as[1].Units = -1 })
	f(100, func(as []export.Action) { as[1].Time = time.Time{} })
	f(100, func(as []export.Action) { as[1].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })
	if _, err := db.Write(actions(1, 3), 100); err != nil {
		t.Fatal(err)
	}
	if err := db.Writable(); err != nil {
		t.Fatalf("Writable after a good write: %v", err)
	}
}

func TestCloseSelfContained(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	build(t, path, export.Detailed, testKey(t), agentA, 5, 5)
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("directory holds %v after Close, want only usage.db", got)
	}
	hdr := make([]byte, 20)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fh.Read(hdr)
	if hdr[18] != 1 || hdr[19] != 1 { // file format versions: 1 = rollback journal, 2 = WAL
		t.Fatalf("header says file format %d/%d, want 1/1 (journal_mode DELETE)", hdr[18], hdr[19])
	}
}

func TestReopenContinues(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	as := actions(1, 9)
	for i := 0; i < 3; i++ {
		db := openDB(t, path, export.Detailed, testKey(t), agentA)
		part := as[3*i : 3*i+3]
		if db.ExportedSeq() != uint64(max(0, 6*i-1)) || db.HeadSeq() != int64(3*i) {
			t.Fatalf("open %d: exported %d, head %d", i, db.ExportedSeq(), db.HeadSeq())
		}
		if _, err := db.Write(part, part[2].WALSeq); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := export.Verify(path, testKey(t)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(queryStrings(t, path, "SELECT DISTINCT batch FROM usage ORDER BY batch"), ","); got != "1,2,3" {
		t.Fatalf("got batches %s, want 1,2,3", got)
	}
}

// TestCommittedWriteSurvivesCrash copies the files of an open database, as
// a power cut would leave them after Write returned, and opens the copy.
func TestCommittedWriteSurvivesCrash(t *testing.T) {
	t.Parallel()
	dir, crash := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	defer db.Close()
	as := actions(1, 5)
	if _, err := db.Write(as, 20); err != nil {
		t.Fatal(err)
	}
	for _, name := range files(t, dir) {
		copyFile(t, filepath.Join(dir, name), filepath.Join(crash, name))
	}
	db2 := openDB(t, filepath.Join(crash, "usage.db"), export.Detailed, testKey(t), agentA)
	if db2.ExportedSeq() != 20 || db2.HeadSeq() != 5 {
		t.Fatalf("after the crash: exported %d, head %d; want 20, 5", db2.ExportedSeq(), db2.HeadSeq())
	}
	if n, err := db2.Write(as, 20); n != 0 || err != nil {
		t.Fatalf("replaying the exported actions wrote %d rows, %v", n, err)
	}
	db2.Close()
}

func TestWritableAndClosed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := db.Writable(); err == nil {
		t.Fatal("Writable is nil for a file moved away")
	}
	os.Rename(path+".moved", path)
	if err := db.Writable(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := db.Write(actions(1, 1), 1); !errors.Is(err, export.ErrClosed) {
		t.Fatalf("Write after Close: got %v, want ErrClosed", err)
	}
	if err := db.Writable(); !errors.Is(err, export.ErrClosed) {
		t.Fatalf("Writable after Close: got %v, want ErrClosed", err)
	}
	if err := db.Close(); !errors.Is(err, export.ErrClosed) {
		t.Fatalf("second Close: got %v, want ErrClosed", err)
	}
}

// TestConcurrentWritable runs /healthz checks against a writing DB; the
// race detector has the last word.
func TestConcurrentWritable(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "usage.db"), export.Detailed, testKey(t), agentA)
	defer db.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			db.Writable()
			db.HeadSeq()
		}
	}()
	as := actions(1, 100)
	for i := 0; i < 100; i += 10 {
		if _, err := db.Write(as[i:i+10], as[i+9].WALSeq); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}
