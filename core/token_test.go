package core_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/httpapi"
)

func TestTokenFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	created := filepath.Join(dir, "admin.token")
	tok, err := httpapi.LoadOrCreateToken(created, nil)
	if err != nil || len(tok) < httpapi.MinTokenLen {
		t.Fatalf("created %q, %v; want a token of at least %d characters", tok, err, httpapi.MinTokenLen)
	}
	if fi, _ := os.Stat(created); fi.Mode().Perm() != 0o600 {
		t.Fatalf("created with mode %04o, want 0600", fi.Mode().Perm())
	}
	if again, err := httpapi.LoadOrCreateToken(created, nil); err != nil || again != tok {
		t.Fatalf("read back %q, %v; want %q", again, err, tok)
	}
	f := func(name, content string, mode os.FileMode, want string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode) // WriteFile's mode passes through the umask
		_, err := httpapi.LoadOrCreateToken(path, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: got %v, want an error naming the file and %q", name, err, want)
		}
		if secret := strings.TrimSpace(content); secret != "" && strings.Contains(err.Error(), secret) {
			t.Fatalf("%s: the error shows the token: %v", name, err)
		}
	}
	long := strings.Repeat("s3cr3t-", 6)
	f("group-readable", long, 0o640, "chmod 600 "+filepath.Join(dir, "group-readable"))
	f("world-readable", long, 0o604, "chmod 600")
	f("short", "  "+long[:31]+"\n", 0o600, "holds 31 characters, fewer than 32")
	f("empty", "\n", 0o600, "holds 0 characters")
}

func TestDataDirWritableByOthers(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	if err := os.Chmod(cfg.DataDir, 0o770); err != nil {
		t.Fatal(err)
	}
	_, err := core.Open(cfg, noOpts())
	if err == nil || !strings.Contains(err.Error(), "chmod go-w "+cfg.DataDir) {
		t.Fatalf("got %v, want start-up refused with the chmod that fixes it", err)
	}
	if ents, _ := os.ReadDir(cfg.DataDir); len(ents) != 0 {
		t.Fatalf("refused start-up left %d entries in the data dir", len(ents))
	}
	os.Chmod(cfg.DataDir, 0o755) // readable by others is fine: the files inside are 0600
	e, err := core.Open(cfg, noOpts())
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
}
