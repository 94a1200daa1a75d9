package export

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// The checks Verify runs once a row's MAC holds can only fail for a file
// written with the key by something other than this package. These tests
// play that writer: they edit a file, then re-sign its whole chain and meta
// with the key (forge), and check that Verify still names what is wrong.

var forgeKey = []byte("0123456789abcdef0123456789abcdef")

// forge runs edit on the database at path, then rewrites every row's MAC in
// seq order and meta's head_seq, head_mac and meta_mac, as a holder of the
// key could.
func forge(t testing.TB, path, edit string) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if edit != "" {
		if err := sqlitex.ExecuteScript(conn, edit, nil); err != nil {
			t.Fatalf("%s: %v", edit, err)
		}
	}
	sign := newSigner(forgeKey)
	entries, _, err := readMeta(conn)
	if err != nil {
		t.Fatal(err)
	}
	m := metaMap(entries)
	head := sign.start(m[metaAgentID])
	var seqs []int64
	var macs []mac
	err = sqlitex.ExecuteTransient(conn, selectRows+" ORDER BY seq", &sqlitex.ExecOptions{ResultFunc: func(stmt *sqlite.Stmt) error {
		var r row
		readRow(stmt, &r)
		head = sign.row(&head, &r)
		seqs, macs = append(seqs, r[colSeq].i), append(macs, head)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		execArgs(t, conn, "UPDATE usage SET mac = ? WHERE seq = ?", macs[i][:], seq)
	}
	m[metaHeadSeq], m[metaHeadMAC] = "0", hex.EncodeToString(head[:])
	if len(seqs) > 0 {
		m[metaHeadSeq] = strconv.FormatInt(seqs[len(seqs)-1], 10)
	}
	var next []metaEntry
	for k, v := range m {
		if k != metaMAC {
			next = append(next, metaEntry{key: k, val: textValue(v)})
		}
	}
	sum := sign.meta(next)
	m[metaMAC] = hex.EncodeToString(sum[:])
	for k, v := range m {
		execArgs(t, conn, "UPDATE meta SET value = ? WHERE key = ?", v, k)
	}
}

func metaMap(entries []metaEntry) map[string]string {
	m := map[string]string{}
	for _, e := range entries {
		m[e.key] = e.val.s
	}
	return m
}

func execArgs(t testing.TB, conn *sqlite.Conn, query string, args ...any) {
	t.Helper()
	if err := sqlitex.Execute(conn, query, &sqlitex.ExecOptions{Args: args}); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// forgeBase is a small chain: license A provisioned, consumed 5 and 7, an
// unexported gap of 20, a checkin, consumed 1; license B consumed 3.
func forgeBase(t testing.TB, level Level) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := Open(Options{Path: path, Key: forgeKey, Level: level, AgentID: "agent-forge"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	act := func(seq uint64, kind ActionKind, lic string, units int64) Action {
		a := Action{WALSeq: seq, Time: at.Add(time.Duration(seq) * time.Minute), Kind: kind,
			Owner: "organizations/acme", Item: "Item" + lic, LicenseID: "lic-" + lic, Units: units, Username: "alice"}
		if kind == Provision {
			a.ExternalID = "order-" + lic
		}
		return a
	}
	write := func(as ...Action) {
		if _, err := db.Write(as, as[len(as)-1].WALSeq); err != nil {
			t.Fatal(err)
		}
	}
	write(act(1, Provision, "A", 100), act(2, Consume, "A", 5), act(3, Consume, "B", 3))
	write(act(4, Consume, "A", 7))
	bal := Balance{LicenseID: "lic-A", Owner: "organizations/acme", Item: "ItemA", Consumed: 32}
	if _, err := db.Reconcile([]Balance{bal}, at.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	write(act(6, Checkin, "A", 0), act(7, Consume, "A", 1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	forge(t, path, "") // the forger's own signing must agree with the writer's
	return path
}

func TestForgedValues(t *testing.T) {
	t.Parallel()
	for _, level := range []Level{Standard, Detailed} {
		t.Run("level="+level.String(), func(t *testing.T) { testForgedValues(t, level) })
	}
}

func testForgedValues(t *testing.T, level Level) {
	base := forgeBase(t, level)
	seqOf := func(where string) int64 {
		path := filepath.Join(t.TempDir(), "q.db")
		copyTo(t, base, path)
		conn, _ := sqlite.OpenConn(path, sqlite.OpenReadOnly)
		defer conn.Close()
		var seq int64
		sqlitex.ExecuteTransient(conn, "SELECT seq FROM usage WHERE "+where, &sqlitex.ExecOptions{ResultFunc: func(s *sqlite.Stmt) error {
			seq = s.ColumnInt64(0)
			return nil
		}})
		if seq == 0 {
			t.Fatalf("no row where %s", where)
		}
		return seq
	}
	consume7 := seqOf("action = 'consume' AND units = 7")
	gap := seqOf("action = 'unexported'")
	checkin := seqOf("action = 'checkin'")
	f := func(name, edit string, wantSeq int64, wantReason string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "usage.db")
		copyTo(t, base, path)
		forge(t, path, edit)
		_, err := Verify(path, forgeKey)
		var ve *VerifyError
		if wantSeq == 0 {
			if err != nil {
				t.Fatalf("%s: %v, want ok", name, err)
			}
			return
		}
		if !errors.As(err, &ve) || ve.Seq != wantSeq || !strings.Contains(ve.Reason, wantReason) {
			t.Fatalf("%s: got %v, want seq %d: ...%s...", name, err, wantSeq, wantReason)
		}
	}
	f("pristine", "", 0, "")
	// A consume row deleted and the rest renumbered: the next row of the
	// license jumps by its units, and Verify names them.
	f("row-deleted-renumbered", fmt.Sprintf("DELETE FROM usage WHERE seq = %[1]d; UPDATE usage SET seq = seq - 1, batch = batch - 1 WHERE seq > %[1]d", consume7),
		gap-1, "license lic-A (organizations/acme ItemA): license_consumed 32, but seq 2 left it at 5 and this row adds 20: 7 units without a row")
	f("counter-raised", fmt.Sprintf("UPDATE usage SET license_consumed = license_consumed + 2 WHERE license_id = 'lic-A' AND seq >= %d", consume7),
		consume7, "2 units without a row")
	f("counter-lowered", fmt.Sprintf("UPDATE usage SET license_consumed = license_consumed - 2 WHERE license_id = 'lic-A' AND seq >= %d", consume7),
		consume7, "-2 units without a row")
	f("units-raised", fmt.Sprintf("UPDATE usage SET units = units + 1 WHERE seq = %d", consume7), consume7, "-1 units without a row")
	f("checkin-consumes", fmt.Sprintf("UPDATE usage SET license_consumed = license_consumed + 1 WHERE license_id = 'lic-A' AND seq >= %d", checkin),
		checkin, "this row adds 0: 1 units without a row")
	f("first-row-not-zero", "UPDATE usage SET license_consumed = license_consumed + 4 WHERE license_id = 'lic-B'",
		seqOf("license_id = 'lic-B'"), "the license's first row and this row adds 3: 4 units without a row")
	f("time-back", fmt.Sprintf("UPDATE usage SET time = '2026-11-30T00:00:00Z' WHERE seq = %d", consume7),
		consume7, "before the previous row's")
	f("unexported-events", fmt.Sprintf("UPDATE usage SET events = 1 WHERE seq = %d", gap), gap, "events 1 in an unexported row")
	f("consume-no-events", fmt.Sprintf("UPDATE usage SET events = 0 WHERE seq = %d", consume7), consume7, "events 0")
	f("consumed-negative", "UPDATE usage SET license_consumed = -1 WHERE seq = 1", 1, "license_consumed -1")
	f("consumed-text", "UPDATE usage SET license_consumed = 'x' WHERE seq = 1", 1, "license_consumed is not an integer")
	f("units-huge", fmt.Sprintf("UPDATE usage SET units = %d WHERE seq = 1", int64(maxConsumed)+1), 1, "units ")
	// The evidence columns belong to provision rows, the last of them too.
	f("request-in-consume", fmt.Sprintf("UPDATE usage SET vendor_request = 'POST /x' WHERE seq = %d", consume7), consume7, "vendor_request in a consume row")
	if level == Detailed {
		f("unexported-user", fmt.Sprintf("UPDATE usage SET username = 'bob' WHERE seq = %d", gap), gap, "username holds user data in an unexported row")
		f("ipaddress-blob", fmt.Sprintf("UPDATE usage SET ipaddress = x'0a000001' WHERE seq = %d", consume7), consume7, "ipaddress is not text")
	} else {
		// Every user column is checked, the last of them too.
		f("ipaddress-at-standard", fmt.Sprintf("UPDATE usage SET ipaddress = '10.0.0.1' WHERE seq = %d", consume7), consume7, "ipaddress holds user data at standard level")
	}
}

func copyTo(t testing.TB, from, to string) {
	t.Helper()
	conn, err := sqlite.OpenConn(from, sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := sqlitex.ExecuteTransient(conn, "VACUUM INTO ?", &sqlitex.ExecOptions{Args: []any{to}}); err != nil {
		t.Fatal(err)
	}
}

// FuzzForgedCounters builds a chain from the input, one row per byte, some
// with a counter off by an amount the byte chooses, signs it with the key,
// and holds Verify and Report to a model: Verify fails at the first row whose
// counter is off, naming the difference; otherwise it passes and Report
// bills exactly the units of the billable rows.
func FuzzForgedCounters(f *testing.F) {
	f.Add([]byte{1, 11, 21, 4, 2})
	f.Add([]byte{1, 11, 245, 21})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 40 {
			b = b[:40]
		}
		path := filepath.Join(t.TempDir(), "usage.db")
		db, err := Open(Options{Path: path, Key: forgeKey, Level: Detailed, AgentID: "agent-fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		consumed := map[string]int64{}
		var billed int64
		wantSeq, wantOff := int64(0), int64(0)
		at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for i, v := range b {
			seq := int64(i + 1)
			kind, lic, units := ActionKind(v%5+1), "lic-"+strconv.Itoa(int(v/5%2)), int64(v/10%4)
			off := int64(0)
			if v >= 240 {
				off = int64(v) - 239
			}
			if kind.billable() {
				consumed[lic] += units
				billed += units
			}
			if off != 0 && wantSeq == 0 {
				wantSeq, wantOff = seq, off
			}
			events := 1
			if kind == Unexported {
				events = 0
			}
			var ext any // NULL but in a provision row
			if kind == Provision {
				ext = "order-" + strconv.Itoa(i)
			}
			execArgs(t, conn, "INSERT INTO usage VALUES (?, 1, ?, ?, 'users/u', 'Item', ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, NULL, NULL, zeroblob(32))",
				seq, at.Add(time.Duration(i)*time.Second).Format(time.RFC3339), kind.String(), lic, units, events, consumed[lic]+off, ext)
			consumed[lic] += off // later rows of the license follow the forged counter
		}
		conn.Close()
		forge(t, path, "")
		s, err := Verify(path, forgeKey)
		var ve *VerifyError
		switch {
		case wantSeq != 0:
			if !errors.As(err, &ve) || ve.Seq != wantSeq || !strings.Contains(ve.Reason, fmt.Sprintf(": %d units without a row", wantOff)) {
				t.Fatalf("got %v, want seq %d with %d units without a row", err, wantSeq, wantOff)
			}
		case err != nil:
			t.Fatalf("got %v, want ok", err)
		case s.Units != billed:
			t.Fatalf("verify: %d units, want %d", s.Units, billed)
		default:
			totals, err := Report([]string{path}, forgeKey, ByMonth)
			var sum int64
			for _, tot := range totals {
				sum += tot.Units
			}
			if err != nil || sum != billed {
				t.Fatalf("report: %d units, %v; want %d", sum, err, billed)
			}
		}
	})
}

// resignMeta sets meta key to value and re-signs meta_mac, leaving the rows alone.
func resignMeta(t testing.TB, path, key, value string) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	execArgs(t, conn, "UPDATE meta SET value = ? WHERE key = ?", value, key)
	entries, _, err := readMeta(conn)
	if err != nil {
		t.Fatal(err)
	}
	var next []metaEntry
	for _, e := range entries {
		if e.key != metaMAC {
			next = append(next, e)
		}
	}
	sum := newSigner(forgeKey).meta(next)
	execArgs(t, conn, "UPDATE meta SET value = ? WHERE key = ?", hex.EncodeToString(sum[:]), metaMAC)
}

// The head in meta, under a valid meta_mac, must still be the chain's: Verify and Open both
// check it against the last row (or the chain start of an empty file).
func TestForgedHead(t *testing.T) {
	t.Parallel()
	other := strings.Repeat("ab", macSize)
	f := func(name string, empty bool, key, value, want string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "usage.db")
		copyTo(t, forgeBase(t, Standard), path)
		if empty {
			forge(t, path, "DELETE FROM usage")
		}
		resignMeta(t, path, key, value)
		_, err := Verify(path, forgeKey)
		var ve *VerifyError
		if !errors.As(err, &ve) || !ve.Meta || ve.Reason != want {
			t.Fatalf("%s: Verify: got %v, want meta: %s", name, err, want)
		}
		_, err = Open(Options{Path: path, Key: forgeKey, Level: Standard, AgentID: "agent-forge"})
		if !errors.As(err, &ve) || !ve.Meta || ve.Reason != want {
			t.Fatalf("%s: Open: got %v, want meta: %s", name, err, want)
		}
	}
	f("head_mac of another chain", false, metaHeadMAC, other, "head_mac does not match row 7")
	f("empty file, head_mac not the start", true, metaHeadMAC, other, "head_mac is not the chain start")
	f("head_seq short of the last row", false, metaHeadSeq, "6", "head_seq 6 but last row is 7")
}

// A meta field the key holder left out is named as missing, not reported as
// a malformed value of the field: the vendor learns the file was written by
// something else than this package.
func TestForgedMetaFieldMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	copyTo(t, forgeBase(t, Standard), path)
	forge(t, path, "DELETE FROM meta WHERE key = 'created'")
	_, err := Verify(path, forgeKey)
	var ve *VerifyError
	if !errors.As(err, &ve) || !ve.Meta || ve.Reason != "created missing or not text" {
		t.Fatalf("got %v, want meta: created missing or not text", err)
	}
}
