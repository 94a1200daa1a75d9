package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A bad config file stops start-up with exit 2 and a message naming file, line and key.
func TestConfigErrorsNameFileLineAndKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(content string, args []string, want string) {
		t.Helper()
		path := filepath.Join(dir, "meterd.cfg")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(meterdBin, append([]string{"-config", path, "-data-dir", filepath.Join(dir, "data")}, args...)...)
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), want) {
			t.Fatalf("%q %v: exit %d (%v), output %q; want exit 2 and %q", content, args, cmd.ProcessState.ExitCode(), err, out, want)
		}
		if strings.Contains(string(out), "listening") {
			t.Fatalf("started despite the error: %s", out)
		}
	}
	cfg := filepath.Join(dir, "meterd.cfg")
	f("LISTEN = 127.0.0.1:0\nFOO = 1\n", nil, cfg+":2: FOO: unknown key")
	f("# c\n\nUSAGE_LEVEL = chatty\n", nil, cfg+":3: USAGE_LEVEL:")
	f("USAGE_WRITE_INTERVAL = many\n", nil, cfg+":1: USAGE_WRITE_INTERVAL:")
	f("LISTEN = 127.0.0.1:0\n", []string{"-durability", "eventually"}, "flag -durability: DURABILITY:")
	f("ALLOWED_HOSTS = localhost, *\n", nil, cfg+":1: ALLOWED_HOSTS:")
	f("LISTEN = 127.0.0.1:0\n", []string{"-max-conns", "0"}, "flag -max-conns: MAX_CONNS:")
	f("LISTEN = 127.0.0.1:0\n", []string{"-header-timeout", "10"}, "flag -header-timeout: HEADER_TIMEOUT:")
}

// A flag wins over the file.
func TestFlagWinsOverFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "meterd.cfg")
	if err := os.WriteFile(path, []byte("LISTEN = 256.0.0.1:99999\nUSAGE_DATABASE = off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startMeterd(t, filepath.Join(dir, "data"), "-config", path) // startMeterd passes -listen 127.0.0.1:0
	p.stop(os.Interrupt)                                             // SIGINT stops as cleanly as SIGTERM (the crash loop's)
	if _, err := os.Stat(filepath.Join(dir, "data", "usage.db")); !os.IsNotExist(err) {
		t.Fatalf("USAGE_DATABASE = off from the file was ignored: %v", err)
	}
}

// A usage key file that others can read, or a short one, stops start-up naming the file.
func TestUsageKeyFileChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(name, content string, mode os.FileMode, want string) {
		t.Helper()
		key := filepath.Join(dir, name)
		if err := os.WriteFile(key, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(key, mode)
		_, err := tryStart(t, filepath.Join(dir, "data-"+name), "-usage-key-file", key)
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: got %v, want an error naming %s and saying %q", name, err, key, want)
		}
	}
	hex := strings.Repeat("ab", 32)
	f("world.key", hex+"\n", 0o644, "readable")
	f("group.key", hex+"\n", 0o640, "readable")
	f("short.key", hex[:62]+"\n", 0o600, "64 hex")
}
