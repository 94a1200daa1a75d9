package export_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// fixture is a pristine exported database to tamper with.
type fixture struct {
	path, other string // other: another agent's database, same key and actions
	level       export.Level
	n, mid      int64 // rows, and a row in the middle
	gap         int64 // the unexported row
	signed      int64 // the first provision the vendor signed
	unsigned    int64 // the first provision no one signed
}

func newFixture(t testing.TB, dir string, level export.Level) *fixture {
	key := testKey(t)
	f := &fixture{path: filepath.Join(dir, "usage.db"), other: filepath.Join(dir, "other.db"), level: level}
	buildGap(t, f.path, level, key, agentA, 6, 5, 7)
	buildGap(t, f.other, level, key, agentB, 6, 5, 7)
	s, err := export.Verify(f.path, key)
	if err != nil {
		t.Fatal(err)
	}
	f.n, f.mid = s.LastSeq, s.LastSeq/2
	if f.n < 6 {
		t.Fatalf("fixture has %d rows, want at least 6", f.n)
	}
	if len(s.Gaps) != 1 {
		t.Fatalf("fixture has %d unexported rows, want 1", len(s.Gaps))
	}
	f.gap = s.Gaps[0].Seq
	seqOf := func(where string) int64 {
		var seq int64
		fmt.Sscan(queryStrings(t, f.path, "SELECT min(seq) FROM usage WHERE "+where)[0], &seq)
		if seq == 0 {
			t.Fatalf("fixture has no row where %s", where)
		}
		return seq
	}
	f.signed = seqOf("vendor_signature IS NOT NULL")
	f.unsigned = seqOf("action = 'provision' AND vendor_signature IS NULL")
	return f
}

// want is the class of Verify's answer: "ok", "seq" (a *VerifyError naming
// seq), "meta" (one naming meta), "verify" (any *VerifyError), "notdb"
// (ErrNotUsageDB) or "io" (another error).
type want struct {
	class  string
	seq    int64
	reason string // a substring of the error, if set
}

func classify(err error) (class string, seq int64) {
	var ve *export.VerifyError
	switch {
	case err == nil:
		return "ok", 0
	case errors.As(err, &ve) && ve.Meta:
		return "meta", 0
	case errors.As(err, &ve) && ve.Seq != 0:
		return "seq", ve.Seq
	case errors.As(err, &ve):
		return "verify", 0
	case errors.Is(err, export.ErrNotUsageDB):
		return "notdb", 0
	}
	return "io", 0
}

func (w want) check(t *testing.T, err error) {
	t.Helper()
	class, seq := classify(err)
	switch {
	case w.class == "verify" && (class == "seq" || class == "meta"):
	case class != w.class || seq != w.seq:
		t.Fatalf("got %s (seq %d): %v; want %s (seq %d)", class, seq, err, w.class, w.seq)
	}
	if w.reason != "" && !strings.Contains(err.Error(), w.reason) {
		t.Fatalf("got %v, want it to contain %q", err, w.reason)
	}
}

// tamper is one way to change a file; the sql (through zombiezen, or the
// sqlite3 shell if shell is set) or fn does it.
type tamper struct {
	name  string
	sql   string
	shell bool
	fn    func(t testing.TB, path string)
	want  want
}

const cols = "batch, time, action, owner, item, license_id, units, events, license_consumed, session, username, hostname, ipaddress, " +
	"external_id, vendor_signature, vendor_request, mac"

func seqW(seq int64, reason string) want { return want{class: "seq", seq: seq, reason: reason} }
func metaW(reason string) want           { return want{class: "meta", reason: reason} }

// catalog lists every tampering the tests try on f; the golden files in
// testdata are made from some of them.
func (f *fixture) catalog() []tamper {
	n, m := f.n, f.mid
	row := func(col, expr string) tamper {
		name := col
		col, _, _ = strings.Cut(col, "-")
		return tamper{name: "row-" + name, sql: fmt.Sprintf("UPDATE usage SET %s = %s WHERE seq = %d", col, expr, m), want: seqW(m, "mac mismatch")}
	}
	userCol := func(col string) tamper {
		if f.level == export.Standard {
			return row(col, "'x'")
		}
		return row(col, "NULL")
	}
	ts := []tamper{
		row("batch", "batch + 1"),
		row("time", "'2026-01-01T00:00:00Z'"),
		row("action", "CASE action WHEN 'consume' THEN 'checkout' ELSE 'consume' END"),
		row("owner", "owner || 'x'"),
		row("owner-null", "NULL"),
		row("item", "item || 'x'"),
		row("license_id", "license_id || 'x'"),
		row("units", "units + 1"),
		row("units-real", "units + 0.5"),
		row("events", "events + 1"),
		row("license_consumed", "license_consumed - 1"),
		row("license_consumed-null", "NULL"),
		userCol("session"), userCol("username"), userCol("hostname"), userCol("ipaddress"),
		row("mac", "zeroblob(32)"),
		{name: "row-mac-text", sql: fmt.Sprintf("UPDATE usage SET mac = CAST(mac AS TEXT) WHERE seq = %d", m), want: seqW(m, "not a 32-byte blob")},
		{name: "row-mac-short", sql: fmt.Sprintf("UPDATE usage SET mac = substr(mac, 1, 31) WHERE seq = %d", m), want: seqW(m, "not a 32-byte blob")},
		{name: "deleted-first", sql: "DELETE FROM usage WHERE seq = 1", want: seqW(1, "row missing (next row is seq 2)")},
		{name: "deleted-middle", sql: fmt.Sprintf("DELETE FROM usage WHERE seq = %d", m), want: seqW(m, "row missing")},
		{name: "deleted-last", sql: fmt.Sprintf("DELETE FROM usage WHERE seq = %d", n), want: metaW(fmt.Sprintf("head_seq %d but last row is %d", n, n-1))},
		{name: "inserted-end", sql: fmt.Sprintf("INSERT INTO usage SELECT %d, %s FROM usage WHERE seq = %d", n+1, strings.Replace(cols, "mac", "zeroblob(32)", 1), n), want: seqW(n+1, "mac mismatch")},
		{name: "inserted-middle", sql: fmt.Sprintf("UPDATE usage SET seq = -seq WHERE seq >= %[1]d; UPDATE usage SET seq = 1 - seq WHERE seq < 0; "+
			"INSERT INTO usage SELECT %[1]d, %[2]s FROM usage WHERE seq = 1", m, strings.Replace(cols, "mac", "zeroblob(32)", 1)), want: seqW(m, "mac mismatch")},
		{name: "duplicated", sql: fmt.Sprintf("INSERT INTO usage SELECT %d, %s FROM usage WHERE seq = %d", n+1, cols, m), want: seqW(n+1, "mac mismatch")},
		{name: "swapped-contents", sql: fmt.Sprintf("CREATE TEMP TABLE a AS SELECT * FROM usage WHERE seq IN (2, %[1]d); "+
			"UPDATE usage SET (%[2]s) = (SELECT %[2]s FROM a WHERE a.seq = %[3]d - usage.seq) WHERE seq IN (2, %[1]d)", m, cols, m+2), want: seqW(2, "mac mismatch")},
		{name: "swapped-seqs", sql: fmt.Sprintf("UPDATE usage SET seq = -1 WHERE seq = 2; UPDATE usage SET seq = 2 WHERE seq = %[1]d; UPDATE usage SET seq = %[1]d WHERE seq = -1", m), want: seqW(2, "mac mismatch")},
		{name: "renumbered-one", sql: fmt.Sprintf("UPDATE usage SET seq = 1000 WHERE seq = %d", m), want: seqW(m, fmt.Sprintf("row missing (next row is seq %d)", m+1))},
		{name: "renumbered-all", sql: "UPDATE usage SET seq = -seq; UPDATE usage SET seq = 1 - seq", want: seqW(1, "row missing (next row is seq 2)")},
		{name: "renumbered-zero", sql: "UPDATE usage SET seq = 0 WHERE seq = 1", want: seqW(1, "row numbered 0")},
		{name: "tail-cut", sql: fmt.Sprintf("DELETE FROM usage WHERE seq > %d", m), want: metaW(fmt.Sprintf("head_seq %d but last row is %d", n, m))},
		{name: "tail-cut-meta-adjusted", sql: fmt.Sprintf("DELETE FROM usage WHERE seq > %[1]d; UPDATE meta SET value = '%[1]d' WHERE key = 'head_seq'; "+
			"UPDATE meta SET value = (SELECT lower(hex(mac)) FROM usage WHERE seq = %[1]d) WHERE key = 'head_mac'", m), want: metaW("meta_mac mismatch")},
		{name: "emptied", sql: "DELETE FROM usage", want: metaW(fmt.Sprintf("head_seq %d but last row is 0", n))},
		{name: "meta-row-added", sql: "INSERT INTO meta VALUES ('note', 'hello')", want: metaW("meta_mac mismatch")},
		{name: "meta-row-removed", sql: "DELETE FROM meta WHERE key = 'created'", want: metaW("meta_mac mismatch")},
		{name: "meta-mac-removed", sql: "DELETE FROM meta WHERE key = 'meta_mac'", want: metaW("missing meta_mac")},
		{name: "meta-value-blob", sql: "UPDATE meta SET value = CAST(value AS BLOB) WHERE key = 'created'", want: metaW("meta_mac mismatch")},
		{name: "meta-key-blob", sql: "UPDATE meta SET key = CAST(key AS BLOB) WHERE key = 'created'", want: metaW("key of type blob")},
		{name: "meta-mac-short", sql: "UPDATE meta SET value = substr(value, 2) WHERE key = 'meta_mac'", want: metaW("not 64 lowercase hex")},
		{name: "meta-mac-upper", sql: "UPDATE meta SET value = upper(value) WHERE key = 'meta_mac'", want: metaW("not 64 lowercase hex")},
		{name: "spliced-row", sql: fmt.Sprintf("ATTACH DATABASE '%s' AS o; UPDATE usage SET (%[2]s) = (SELECT %[2]s FROM o.usage WHERE o.usage.seq = usage.seq) WHERE seq = %[3]d", f.other, cols, m), want: seqW(m, "mac mismatch")},
		{name: "spliced-all", sql: fmt.Sprintf("ATTACH DATABASE '%s' AS o; DELETE FROM usage; INSERT INTO usage SELECT * FROM o.usage", f.other), want: seqW(1, "mac mismatch")},
		{name: "unexported-units", sql: "UPDATE usage SET units = units - 1, license_consumed = license_consumed - 1 WHERE action = 'unexported'", want: seqW(f.gap, "mac mismatch")},
		{name: "unexported-action", sql: "UPDATE usage SET action = 'checkout' WHERE action = 'unexported'", want: seqW(f.gap, "mac mismatch")},
		{name: "unexported-deleted", sql: "DELETE FROM usage WHERE action = 'unexported'", want: seqW(f.gap, "row missing")},
		// Provisioning evidence: a provision made to look vendor-signed, or a signed one made
		// to say more than the vendor signed.
		{name: "provision-signature-copied", sql: fmt.Sprintf("UPDATE usage SET (vendor_signature, vendor_request) = "+
			"(SELECT vendor_signature, vendor_request FROM usage WHERE seq = %d) WHERE seq = %d", f.signed, f.unsigned), want: seqW(f.unsigned, "mac mismatch")},
		{name: "provision-request-edited", sql: fmt.Sprintf("UPDATE usage SET vendor_request = replace(vendor_request, '\"quantity\":', '\"quantity\":9') WHERE seq = %d", f.signed),
			want: seqW(f.signed, "mac mismatch")},
		{name: "provision-units", sql: fmt.Sprintf("UPDATE usage SET units = units * 1000 WHERE seq = %d", f.signed), want: seqW(f.signed, "mac mismatch")},
		{name: "provision-external_id", sql: fmt.Sprintf("UPDATE usage SET external_id = external_id || 'x' WHERE seq = %d", f.signed), want: seqW(f.signed, "mac mismatch")},
		{name: "provision-signature-dropped", sql: fmt.Sprintf("UPDATE usage SET vendor_signature = NULL, vendor_request = NULL WHERE seq = %d", f.signed), want: seqW(f.signed, "mac mismatch")},
		{name: "schema-license-index-dropped", sql: "DROP INDEX usage_license", want: want{class: "verify", reason: `schema: index "usage_license" missing`}},
		{name: "schema-index", sql: "CREATE INDEX by_owner ON usage(owner)", want: want{class: "verify", reason: `schema: unexpected index "by_owner"`}},
		{name: "schema-trigger", sql: "CREATE TRIGGER t AFTER INSERT ON usage BEGIN SELECT 1; END", want: want{class: "verify", reason: `schema: unexpected trigger "t"`}},
		{name: "schema-column", sql: "ALTER TABLE usage ADD COLUMN note TEXT", want: want{class: "verify", reason: `schema: table "usage" altered`}},
		{name: "schema-usage-dropped", sql: "DROP TABLE usage", want: want{class: "verify", reason: `schema: table "usage" missing`}},
		{name: "schema-view", sql: "ALTER TABLE usage RENAME TO usage2; CREATE VIEW usage AS SELECT * FROM usage2", want: want{class: "verify", reason: "schema:"}},
		{name: "bytes-in-row", fn: f.overwriteRowBytes, want: seqW(m, "mac mismatch")},
		{name: "bytes-in-btree", fn: f.overwritePageHeader, want: want{class: "verify", reason: "integrity_check"}},
		{name: "bytes-in-header", fn: overwrite(0, []byte("Not SQLite at all")), want: want{class: "notdb"}},
		{name: "page-size", fn: overwrite(16, []byte{0x00, 0x03}), want: want{class: "notdb"}},
		{name: "truncated-half", fn: truncate(0.5), want: want{class: "verify", reason: "corrupt"}},
		{name: "truncated-last-page", fn: truncate(-4096), want: want{class: "verify", reason: "corrupt"}},
		{name: "truncated-empty", fn: truncate(0), want: want{class: "notdb"}},
		{name: "truncated-header", fn: truncate(50.0 / 1e9), want: want{class: "notdb"}},
		{name: "text-file", fn: replace([]byte("owner,item,units\nacme,PdfPro,5\n")), want: want{class: "notdb"}},
		{name: "other-sqlite", fn: otherSQLite, want: want{class: "notdb"}},
		// Not tampering: what the file means is unchanged.
		{name: "vacuumed", sql: "VACUUM", want: want{class: "ok"}},
		{name: "units-as-text", sql: fmt.Sprintf("UPDATE usage SET units = CAST(units AS TEXT) WHERE seq = %d", m), want: want{class: "ok"}},
		{name: "reindexed", sql: "REINDEX", want: want{class: "ok"}},
		// The stock shell, as a customer would use it.
		{name: "shell-units", shell: true, sql: fmt.Sprintf("UPDATE usage SET units = units * 2 WHERE seq = %d;", m), want: seqW(m, "mac mismatch")},
		{name: "shell-deleted-middle", shell: true, sql: fmt.Sprintf("DELETE FROM usage WHERE seq = %d;", m), want: seqW(m, "row missing")},
		{name: "shell-tail-cut-meta-adjusted", shell: true, sql: fmt.Sprintf("DELETE FROM usage WHERE seq > %[1]d; UPDATE meta SET value = '%[1]d' WHERE key = 'head_seq'; "+
			"UPDATE meta SET value = (SELECT lower(hex(mac)) FROM usage WHERE seq = %[1]d) WHERE key = 'head_mac';", m), want: metaW("meta_mac mismatch")},
		{name: "shell-trigger", shell: true, sql: "CREATE TRIGGER t AFTER INSERT ON usage BEGIN SELECT 1; END;", want: want{class: "verify", reason: "schema:"}},
		{name: "shell-vacuumed", shell: true, sql: "VACUUM;", want: want{class: "ok"}},
	}
	for _, k := range []string{"schema_version", "agent_id", "key_id", "usage_level", "created", "head_seq", "head_mac", "wal_seq", "meta_mac"} {
		expr := "value || 'x'"
		switch k {
		case "head_mac", "meta_mac":
			expr = "CASE substr(value, 1, 1) WHEN '0' THEN '1' ELSE '0' END || substr(value, 2)"
		case "head_seq", "wal_seq":
			expr = "value + 1"
		case "usage_level":
			expr = "CASE value WHEN 'standard' THEN 'detailed' ELSE 'standard' END"
		}
		reason := "meta_mac mismatch"
		if k == "key_id" {
			reason = "signed by key"
		}
		ts = append(ts, tamper{name: "meta-" + k, sql: fmt.Sprintf("UPDATE meta SET value = %s WHERE key = '%s'", expr, k), want: metaW(reason)})
	}
	return ts
}

func (tc *tamper) apply(t testing.TB, path string) {
	t.Helper()
	switch {
	case tc.fn != nil:
		tc.fn(t, path)
	case tc.shell:
		shell(t, path, tc.sql)
	default:
		execSQL(t, path, tc.sql)
	}
}

// shell runs sql through the stock sqlite3 shell; CI installs it.
func shell(t testing.TB, path, sql string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		if os.Getenv("METERD_REQUIRE_TOOLS") == "1" {
			t.Fatal("sqlite3 shell not installed (apt-get install sqlite3)")
		}
		t.Skip("sqlite3 shell not installed (apt-get install sqlite3); CI requires it")
	}
	out, err := exec.Command("sqlite3", append(append(args, path), sql)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s", sql, err, out)
	}
	return string(out)
}

// overwriteRowBytes changes one digit of the middle row's time where it
// sits in the file, keeping it a valid time.
func (f *fixture) overwriteRowBytes(t testing.TB, path string) {
	ts := queryStrings(t, path, fmt.Sprintf("SELECT time FROM usage WHERE seq = %d", f.mid))[0]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := bytes.Count(b, []byte(ts)); c != 1 {
		t.Fatalf("time %s occurs %d times in the file", ts, c)
	}
	i := bytes.Index(b, []byte(ts)) + 3 // the year's last digit
	b[i] = '0' + (b[i]-'0'+1)%10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// overwritePageHeader writes garbage over the b-tree header of the usage
// table's root page.
func (f *fixture) overwritePageHeader(t testing.TB, path string) {
	var root int64
	fmt.Sscan(queryStrings(t, path, "SELECT rootpage FROM sqlite_schema WHERE name = 'usage'")[0], &root)
	pageSize := int64(4096)
	overwrite((root-1)*pageSize, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})(t, path)
}

func overwrite(off int64, data []byte) func(testing.TB, string) {
	return func(t testing.TB, path string) {
		fh, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if _, err := fh.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
	}
}

// truncate keeps frac of the file, or, when negative, drops -frac bytes.
func truncate(frac float64) func(testing.TB, string) {
	return func(t testing.TB, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		size := int64(float64(fi.Size()) * frac)
		switch {
		case frac < 0:
			size = fi.Size() + int64(frac)
		case frac > 0 && frac < 1e-6:
			size = int64(frac * 1e9)
		}
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
	}
}

func replace(data []byte) func(testing.TB, string) {
	return func(t testing.TB, path string) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func otherSQLite(t testing.TB, path string) {
	os.Remove(path)
	execSQLCreate(t, path, "CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('hello')")
}

func TestTamperCatalog(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	for _, level := range []export.Level{export.Standard, export.Detailed} {
		t.Run("level="+level.String(), func(t *testing.T) {
			f := newFixture(t, t.TempDir(), level)
			for _, tc := range f.catalog() {
				t.Run(tc.name, func(t *testing.T) {
					dir := t.TempDir()
					path := filepath.Join(dir, "usage.db")
					copyFile(t, f.path, path)
					tc.apply(t, path)
					_, err := export.Verify(path, key)
					tc.want.check(t, err)
					if got := files(t, dir); len(got) != 1 {
						t.Fatalf("directory holds %v after Verify, want only usage.db", got)
					}
				})
			}
		})
	}
}

func TestVerifyOtherKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	build(t, path, export.Detailed, testKey(t), agentA, 3)
	_, err := export.Verify(path, otherKey())
	reason := fmt.Sprintf("signed by key %s, not %s", export.KeyID(testKey(t)), export.KeyID(otherKey()))
	metaW(reason).check(t, err)
}

func TestVerifyIOErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(path string) {
		t.Helper()
		_, err := export.Verify(path, testKey(t))
		want{class: "io"}.check(t, err)
	}
	f(filepath.Join(dir, "missing.db"))
	f(dir)
}
