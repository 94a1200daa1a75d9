package harness_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

// standIn writes a shell script that plays the part of meterd the harness relies on.
func standIn(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meterd")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// It says it listens only once the trap is set, as meterd logs "listening" once it handles
// signals; its sleep does not hold the log open.
const listens = `trap 'echo stopping >&2; kill $pid; exit 0' TERM
sleep 60 >/dev/null 2>&1 & pid=$!
echo "args $*" >&2
echo 'time=now level=INFO msg=listening addr=127.0.0.1:4321' >&2
wait $pid
`

func TestProcessStartStop(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "admin.token"), []byte("  the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log harness.LogBuffer
	p, err := harness.StartProcess(standIn(t, listens), data, &log, "-durability", "async")
	if err != nil {
		t.Fatal(err)
	}
	if p.Base != "http://127.0.0.1:4321" || p.Exited() || p.Pid() <= 0 {
		t.Fatalf("started: base %s, exited %v, pid %d", p.Base, p.Exited(), p.Pid())
	}
	if !strings.Contains(log.String(), "args -data-dir "+data+" -listen 127.0.0.1:0 -durability async") {
		t.Fatalf("arguments: %s", log.String())
	}
	if tok, err := p.Token(); err != nil || tok != "the-token" {
		t.Fatalf("token %q, %v", tok, err)
	}
	c, err := p.Client(client.Options{})
	if err != nil || c.Base() != p.Base {
		t.Fatalf("client: %v", err)
	}
	code, err := p.Stop(syscall.SIGTERM, 10*time.Second)
	if err != nil || code != 0 || !p.Exited() || !strings.Contains(log.String(), "stopping") {
		t.Fatalf("stop: code %d, %v, exited %v; log %s", code, err, p.Exited(), log.String())
	}
}

func TestProcessKill(t *testing.T) {
	p, err := harness.StartProcess(standIn(t, listens), t.TempDir(), &harness.LogBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if !p.Exited() {
		t.Fatal("killed, not exited")
	}
	p.Kill() // a second Kill finds it gone and returns
}

func TestProcessExitsDuringStart(t *testing.T) {
	var log harness.LogBuffer
	_, err := harness.StartProcess(standIn(t, "echo 'meterd: DATA_DIR is writable by others' >&2; exit 2\n"), t.TempDir(), &log)
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(log.String(), "writable by others") {
		t.Fatalf("got %v, log %q; want the exit reported and the log kept", err, log.String())
	}
}
