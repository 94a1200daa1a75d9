package core_test

import (
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/export"
)

type detailedRow struct{ action, session, user, host, ip string }

// USAGE_LEVEL detailed writes one row per action with who took it and from where; a call
// that names no IP is written with the address it came from, so a checkin is as traceable
// as the checkout it ends.
func TestDetailedRowsSayWhoAndWhere(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.UsageLevel, cfg.UsageWriteInterval = export.Detailed, 1
	a := startAgent(t, cfg, core.Options{})
	a.putProduct("viewer", "Viewer", "sessions", 1)
	a.order("users/u", "o", "viewer", 10, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if st, ans := a.consume(`{"owner":"users/u","item":"Viewer","session":"s1","user":"ann","host":"ws-1"}`, nil); st != 200 || ans.Units != 1 {
		t.Fatalf("checkout: %d %+v", st, ans)
	}
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: `{"owner":"users/u","item":"Viewer","session":"s1","user":"ann","host":"ws-1"}`}, nil); st != 200 {
		t.Fatalf("checkin: %d", st)
	}
	if st, ans := a.consume(`{"owner":"users/u","item":"Viewer","session":"s2","user":"bob","host":"ws-2","ip":"10.0.0.5"}`, nil); st != 200 || ans.Units != 1 {
		t.Fatalf("checkout with an ip: %d %+v", st, ans)
	}
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: `{"owner":"users/u","item":"Viewer","session":"s2","ip":"10.0.0.6"}`}, nil); st != 200 {
		t.Fatalf("checkin with an ip: %d", st)
	}
	a.stop()

	want := []detailedRow{
		{"checkout", "s1", "ann", "ws-1", "127.0.0.1"},
		{"checkin", "s1", "ann", "ws-1", "127.0.0.1"},
		{"checkout", "s2", "bob", "ws-2", "10.0.0.5"},
		{"checkin", "s2", "", "", "10.0.0.6"},
	}
	got := detailedRows(t, usageDBPath(cfg))
	if len(got) != len(want) {
		t.Fatalf("rows %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// detailedRows reads the usage database's session rows, in order.
func detailedRows(t *testing.T, path string) []detailedRow {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var rows []detailedRow
	err = sqlitex.Execute(conn, `SELECT action, session, username, hostname, ipaddress FROM usage
		WHERE action IN ('checkout', 'checkin') ORDER BY seq`, &sqlitex.ExecOptions{
		ResultFunc: func(s *sqlite.Stmt) error {
			rows = append(rows, detailedRow{s.ColumnText(0), s.ColumnText(1), s.ColumnText(2), s.ColumnText(3), s.ColumnText(4)})
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
