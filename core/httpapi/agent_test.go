package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/meterd/meterd/core/harness"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.Listen = filepath.Join(t.TempDir(), "data"), "127.0.0.1:0"
	return cfg
}

func shutdown(t *testing.T, a *httpapi.Agent) {
	t.Helper()
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// An address that cannot be bound stops Start before the data directory, the usage key or the
// admin token exist, with a message naming LISTEN and what to do.
func TestStartBindsBeforeMakingState(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f := func(addr, want string, cause error) {
		t.Helper()
		cfg := testConfig(t)
		cfg.Listen = addr
		a, err := httpapi.Start(cfg, core.Options{})
		if err == nil {
			shutdown(t, a)
			t.Fatalf("%s: started", addr)
		}
		if err.Error() != want || !errors.Is(err, cause) {
			t.Fatalf("%s: got %q, want %q wrapping %v", addr, err, want, cause)
		}
		if _, err := os.Stat(cfg.DataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: the data directory was made (%v)", addr, err)
		}
	}
	addr := busy.Addr().String()
	f(addr, "LISTEN "+addr+" is in use by another process (another meterd?); stop that process, or set LISTEN (-listen) to a free port",
		syscall.EADDRINUSE)
	f("192.0.2.1:0", "LISTEN 192.0.2.1:0: cannot listen there (bind: cannot assign requested address); "+
		"set LISTEN (-listen) to host:port with a host of this machine, such as 127.0.0.1:8787", syscall.EADDRNOTAVAIL)
}

// The usage key the agent makes is logged with its path and what to do with it, once.
func TestStartLogsANewUsageKey(t *testing.T) {
	cfg := testConfig(t)
	want := `level=WARN msg="created usage key; send it to the vendor, who verifies the usage database with it" path=` +
		filepath.Join(cfg.DataDir, "usage.key") + "\n"
	for i, wantLines := range []int{1, 0} {
		var log harness.LogBuffer
		a, err := httpapi.Start(cfg, core.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		shutdown(t, a)
		if got := strings.Count(log.String(), want); got != wantLines {
			t.Fatalf("start %d: %d lines ending %q, want %d:\n%s", i+1, got, want, wantLines, log.String())
		}
	}
}
