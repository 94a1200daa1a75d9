package export_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/export"
)

// Every test here calls t.Parallel, each on its own t.TempDir, except TestGolden (it owns
// testdata while it runs), TestSignerAllocs (it counts allocations) and TestFullDiskChild (the
// child process of TestWritesOnAFullDisk, alone in it): Go runs those first, alone.

var update = export.UpdateGolden // -update rewrites the golden files in testdata

const (
	agentA = "agent-a-0123456789abcdef"
	agentB = "agent-b-fedcba9876543210"
)

// created stamps every test database, so golden files come out the same.
var created = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// testKey is the fixed key in testdata (read directly: git does not keep
// its mode 0600, which LoadKey insists on).
func testKey(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/test.key")
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func otherKey() []byte {
	key := make([]byte, export.KeySize)
	for i := range key {
		key[i] = byte(i + 1)
	}
	return key
}

// actions returns n actions with WAL seqs first, first+2, ... (odd gaps,
// as if other records sat between them): three licenses of two owners,
// every kind, a minute apart from 23:57 UTC on, so they cross midnight.
func actions(first uint64, n int) []export.Action {
	lics := []struct{ owner, item, id string }{
		{"organizations/acme", "PdfPro", "lic-acme-pdf"},
		{"organizations/acme", "OcrKit", "lic-acme-ocr"},
		{"users/bob", "PdfPro", "lic-bob-pdf"},
	}
	kinds := []export.ActionKind{export.Consume, export.Checkout, export.Consume, export.Checkin, export.Provision}
	base := time.Date(2026, 11, 30, 23, 57, 0, 0, time.UTC)
	out := make([]export.Action, n)
	for i := range out {
		seq := first + 2*uint64(i)
		l, k := lics[seq%3], kinds[seq%5]
		units := int64(seq%7 + 1)
		if k == export.Checkin {
			units = 0
		}
		out[i] = export.Action{
			WALSeq: seq, Time: base.Add(time.Duration(seq) * time.Minute / 2), Kind: k,
			Owner: l.owner, Item: l.item, LicenseID: l.id, Units: units,
			Session: fmt.Sprintf("s-%d", seq%4), Username: fmt.Sprintf("user-%d", seq%3),
			Hostname: fmt.Sprintf("host-%03d", seq), IPAddress: fmt.Sprintf("10.0.0.%d", seq%250),
		}
		if k == export.Provision {
			signOrder(&out[i], seq)
		}
	}
	return out
}

// testVendorKey is the vendor's signing key of the tests; Ed25519 signs deterministically, so
// the golden files come out the same.
func testVendorKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("meterd test vendor key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// otherVendorKey signs what the vendor did not.
func otherVendorKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("not the vendor"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// signOrder makes a the one item of order "order-<seq>", signed by the vendor, by no one or
// by a stranger as seq/10 goes 0, 1, 2, 3, ...: a file of a few dozen actions holds
// provisions of each kind.
func signOrder(a *export.Action, seq uint64) {
	a.ExternalID = fmt.Sprintf("order-%d", seq)
	path := "/" + a.Owner + "/license-transactions"
	body := []byte(fmt.Sprintf(`{"transaction":{"externalId":%q,"items":[{"productId":"p","quantity":%d}]}}`, a.ExternalID, a.Units))
	var key ed25519.PrivateKey
	switch seq / 10 % 3 {
	case 0:
		key = testVendorKey()
	case 1:
		return
	case 2:
		key = otherVendorKey()
	}
	a.VendorSignature = export.SignRequest(key, "POST", path, body)
	a.VendorRequest = string(export.SignedRequest("POST", path, body))
}

// billable sums the consume, checkout and unexported units of as.
func billable(as []export.Action) (units int64) {
	for _, a := range as {
		if a.Kind == export.Consume || a.Kind == export.Checkout || a.Kind == export.Unexported {
			units += a.Units
		}
	}
	return units
}

func openDB(t testing.TB, path string, level export.Level, key []byte, agent string) *export.DB {
	t.Helper()
	db, err := export.Open(export.Options{Path: path, Key: key, Level: level, AgentID: agent, Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// gapUnits is what build reconciles after its first batch: units consumed
// without actions, as if the database had been off for a while.
const gapUnits = 100

// build writes one Write per batch size (actions from actions(1, ...)),
// closes the database and returns the actions written.
func build(t testing.TB, path string, level export.Level, key []byte, agent string, batches ...int) []export.Action {
	t.Helper()
	return buildWith(t, path, level, key, agent, false, batches...)
}

// buildGap is build with a Reconcile after the first batch that adds
// gapUnits to the first action's license as one unexported row; the
// actions it returns include that row as an Unexported action.
func buildGap(t testing.TB, path string, level export.Level, key []byte, agent string, batches ...int) []export.Action {
	t.Helper()
	return buildWith(t, path, level, key, agent, true, batches...)
}

func buildWith(t testing.TB, path string, level export.Level, key []byte, agent string, gap bool, batches ...int) []export.Action {
	t.Helper()
	total := 0
	for _, n := range batches {
		total += n
	}
	all := actions(1, total)
	db := openDB(t, path, level, key, agent)
	rest, out := all, []export.Action(nil)
	for i, n := range batches {
		if _, err := db.Write(rest[:n], rest[n-1].WALSeq+1); err != nil {
			t.Fatal(err)
		}
		out, rest = append(out, rest[:n]...), rest[n:]
		if gap && i == 0 && len(batches) > 1 {
			out = append(out, reconcileGap(t, db, all[0], rest[0].Time))
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// reconcileGap tells db that like's license has consumed gapUnits more than
// its rows say, and returns the unexported action that stands for them.
func reconcileGap(t testing.TB, db *export.DB, like export.Action, at time.Time) export.Action {
	t.Helper()
	bal := export.Balance{LicenseID: like.LicenseID, Owner: like.Owner, Item: like.Item,
		Consumed: db.Consumed(like.LicenseID) + gapUnits}
	if rows, err := db.Reconcile([]export.Balance{bal}, at); err != nil || rows != 1 {
		t.Fatalf("Reconcile: %d rows, %v; want 1 row", rows, err)
	}
	return export.Action{Time: at, Kind: export.Unexported, Owner: like.Owner, Item: like.Item,
		LicenseID: like.LicenseID, Units: gapUnits}
}

// execSQL runs a script on path through zombiezen, leaving the journal mode
// as it is. A script of one statement runs outside a transaction (VACUUM
// needs that).
func execSQL(t testing.TB, path, script string) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	run := sqlitex.ExecuteScript
	if !strings.Contains(script, ";") {
		run = sqlitex.ExecuteTransient
	}
	if err := run(conn, script, nil); err != nil {
		t.Fatalf("%s: %v", script, err)
	}
}

// queryStrings returns the first column of every result row as text.
func queryStrings(t testing.TB, path, query string) []string {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []string
	err = sqlitex.ExecuteTransient(conn, query, &sqlitex.ExecOptions{ResultFunc: func(stmt *sqlite.Stmt) error {
		cols := make([]string, stmt.ColumnCount())
		for i := range cols {
			if stmt.ColumnType(i) == sqlite.TypeNull {
				cols[i] = "NULL"
			} else {
				cols[i] = stmt.ColumnText(i)
			}
		}
		out = append(out, strings.Join(cols, "|"))
		return nil
	}})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

func readBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// files lists the names in dir.
func files(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// execSQLCreate creates a plain SQLite database at path.
func execSQLCreate(t testing.TB, path, script string) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite|sqlite.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := sqlitex.ExecuteScript(conn, script, nil); err != nil {
		t.Fatal(err)
	}
}
