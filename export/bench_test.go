package export

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// BenchmarkExport compares the signed writer with raw SQLite inserts of the
// same actions, synchronous=FULL and WAL mode both, in one run. raw inserts
// 10-column rows (the acceptance baseline); raw14 inserts the usage table's
// 14 columns with a constant MAC and no signing, which separates what the
// wider row costs SQLite from what signing costs:
//
//	go test ./export -run '^$' -bench BenchmarkExport -count 10 | tee new.txt
//	benchstat -col /impl new.txt
//
// ns/op is one transaction (one Write); rows/s and actions/s are the rates
// to compare.
func BenchmarkExport(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("impl=raw/rows_per_tx=%d", n), func(b *testing.B) { benchRaw(b, n, rawTable, rawTx) })
		b.Run(fmt.Sprintf("impl=raw14/rows_per_tx=%d", n), func(b *testing.B) { benchRaw(b, n, createUsage, raw14Tx) })
		b.Run(fmt.Sprintf("impl=detailed/rows_per_tx=%d", n), func(b *testing.B) { benchWrite(b, Detailed, n, "rows/s") })
	}
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("impl=standard/actions_per_write=%d", n), func(b *testing.B) { benchWrite(b, Standard, n, "actions/s") })
	}
	b.Run("impl=hmac", benchHMAC)
}

// benchActions returns n detailed-shaped actions over 10 licenses and two
// kinds within one day, as a busy agent would hand over.
func benchActions(n int) []Action {
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	as := make([]Action, n)
	for i := range as {
		lic := i % 10
		as[i] = Action{
			WALSeq: uint64(i + 1), Time: base.Add(time.Duration(i) * time.Millisecond), Kind: Consume + ActionKind(i%2),
			Owner: fmt.Sprintf("organizations/org-%02d", lic), Item: "PdfPro", LicenseID: fmt.Sprintf("lic-%08d", lic),
			Units: int64(i%5 + 1), Session: fmt.Sprintf("s-%d", i%300), Username: fmt.Sprintf("user-%d", i%50),
			Hostname: fmt.Sprintf("ws-%03d", i%120), IPAddress: fmt.Sprintf("10.0.%d.%d", i%4, i%250),
		}
	}
	return as
}

func benchWrite(b *testing.B, level Level, n int, unit string) {
	db, err := Open(Options{Path: filepath.Join(b.TempDir(), "usage.db"), Key: make([]byte, KeySize), Level: level, AgentID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	as := benchActions(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range as {
			as[j].WALSeq = uint64(i*n + j + 1)
		}
		if _, err := db.Write(as, uint64((i+1)*n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), unit)
}

const rawTable = "CREATE TABLE usage(seq INTEGER PRIMARY KEY, time TEXT, action TEXT, owner TEXT, " +
	"item TEXT, license_id TEXT, units INTEGER, username TEXT, hostname TEXT, ipaddress TEXT)"

// benchRaw is the baseline: plain inserts, times already formatted, no
// MAC, no meta.
func benchRaw(b *testing.B, n int, table string, tx func(*sqlite.Conn, []Action, []string, int64) error) {
	conn, err := sqlite.OpenConn(filepath.Join(b.TempDir(), "raw.db"), sqlite.OpenReadWrite|sqlite.OpenCreate|sqlite.OpenWAL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"PRAGMA synchronous=FULL", table} {
		if err := sqlitex.ExecuteTransient(conn, q, nil); err != nil {
			b.Fatal(err)
		}
	}
	as := benchActions(n)
	times := make([]string, n)
	for i, a := range as {
		times[i] = a.Time.UTC().Format(time.RFC3339Nano)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tx(conn, as, times, int64(i*n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

func rawTx(conn *sqlite.Conn, as []Action, times []string, seq int64) error {
	if err := sqlitex.Execute(conn, "BEGIN IMMEDIATE", nil); err != nil {
		return err
	}
	stmt := conn.Prep("INSERT INTO usage VALUES (?,?,?,?,?,?,?,?,?,?)")
	for j := range as {
		a := &as[j]
		stmt.BindInt64(1, seq+int64(j)+1)
		stmt.BindText(2, times[j])
		stmt.BindText(3, kindNames[a.Kind])
		stmt.BindText(4, a.Owner)
		stmt.BindText(5, a.Item)
		stmt.BindText(6, a.LicenseID)
		stmt.BindInt64(7, a.Units)
		stmt.BindText(8, a.Username)
		stmt.BindText(9, a.Hostname)
		stmt.BindText(10, a.IPAddress)
		if _, err := stmt.Step(); err != nil {
			return err
		}
		stmt.Reset()
	}
	return sqlitex.Execute(conn, "COMMIT", nil)
}

func raw14Tx(conn *sqlite.Conn, as []Action, times []string, seq int64) error {
	if err := sqlitex.Execute(conn, "BEGIN IMMEDIATE", nil); err != nil {
		return err
	}
	stmt := conn.Prep(insertRow)
	mac := make([]byte, macSize)
	for j := range as {
		a := &as[j]
		stmt.BindInt64(1, seq+int64(j)+1)
		stmt.BindInt64(2, seq)
		stmt.BindText(3, times[j])
		stmt.BindText(4, kindNames[a.Kind])
		stmt.BindText(5, a.Owner)
		stmt.BindText(6, a.Item)
		stmt.BindText(7, a.LicenseID)
		stmt.BindInt64(8, a.Units)
		stmt.BindInt64(9, 1)
		stmt.BindText(10, a.Session)
		stmt.BindText(11, a.Username)
		stmt.BindText(12, a.Hostname)
		stmt.BindText(13, a.IPAddress)
		stmt.BindBytes(14, mac)
		if _, err := stmt.Step(); err != nil {
			return err
		}
		stmt.Reset()
	}
	return sqlitex.Execute(conn, "COMMIT", nil)
}

func benchHMAC(b *testing.B) {
	s := newSigner(make([]byte, KeySize))
	r := goldenRows["detailed"]
	var prev mac
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		prev = s.row(&prev, &r)
	}
}
