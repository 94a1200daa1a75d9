package core_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/core"
)

// /healthz turns 503, saying why, when the usage database can no longer be written (here it was
// moved away under the running agent), and consumption still answers from the WAL meanwhile.
func TestHealthzUnavailable(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	a := startAgent(t, cfg, noOpts())
	var ok struct{ Status string }
	if st := a.do(call{method: "GET", path: "/healthz"}, &ok); st != 200 || ok.Status != "ok" {
		t.Fatalf("healthy: %d %+v", st, ok)
	}
	if err := os.Rename(usageDBPath(cfg), usageDBPath(cfg)+".moved"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // the applier probes the file once a second
	for {
		var bad answer
		st := a.do(call{method: "GET", path: "/healthz"}, &bad)
		if st == 503 {
			if !strings.Contains(bad.Message, "removed or replaced") {
				t.Fatalf("503 without the reason: %+v", bad)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d 10 s after the usage database was moved away", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lic := provisionPdfPro(t, a)
	if st, ans := a.consume(`{"license":"`+lic.ID+`","units":1}`, nil); st != 200 || !ans.Granted {
		t.Fatalf("consume while the usage database is unavailable: %d %+v", st, ans)
	}
	// Put back, the file takes writes again and /healthz says so; the agent then stops
	// cleanly, having written everything.
	if err := os.Rename(usageDBPath(cfg)+".moved", usageDBPath(cfg)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); a.do(call{method: "GET", path: "/healthz"}, nil) != 200; {
		if time.Now().After(deadline) {
			t.Fatal("/healthz not 200 again 10 s after the usage database was put back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A usage database whose last row was changed while the agent was stopped stops start-up,
// naming the file and the row: the agent would otherwise chain new rows onto a forged head.
func TestStartupRejectsTamperedTail(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.UsageWriteInterval = 1
	a := startAgent(t, cfg, noOpts())
	lic := provisionPdfPro(t, a)
	for range 3 {
		a.consume(`{"license":"`+lic.ID+`","units":2}`, nil)
	}
	a.stop()
	execUsageSQL(t, usageDBPath(cfg), "UPDATE usage SET units = 1 WHERE seq = (SELECT max(seq) FROM usage)")
	_, err := core.Open(cfg, noOpts())
	if err == nil || !strings.Contains(err.Error(), usageDBPath(cfg)) || !strings.Contains(err.Error(), "mac mismatch") {
		t.Fatalf("got %v, want start-up refused naming the file and the mac mismatch", err)
	}
}

func execUsageSQL(t *testing.T, path, sql string) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := sqlitex.ExecuteTransient(conn, sql, nil); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if conn.Changes() == 0 {
		t.Fatalf("%s changed nothing", sql)
	}
}
