//go:build linux

package export_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/meterd/meterd/export"
)

// A full disk is simulated with a file size limit (RLIMIT_FSIZE): a write
// past it fails with EFBIG, as one fails with ENOSPC on a full disk (the Go
// runtime ignores the SIGXFSZ that comes with it). The limit is a whole
// process's, and `go test` logs the test's file accesses to a file of its
// own, so the writes run in a child process of this test binary
// (TestFullDiskChild) and the test checks what they left on disk.

const fullDiskEnv = "METERD_TEST_FULL_DISK_DIR"

// fullDiskOps are the writes the child makes, each under its own limit, in
// a directory the parent prepared.
var fullDiskOps = []struct {
	name  string
	limit func(t *testing.T, dir string) uint64
	run   func(t *testing.T, dir string) error
}{
	{"key", fixedLimit(10), func(t *testing.T, dir string) error {
		_, err := export.GenerateKey(filepath.Join(dir, "key", "vendor.key"))
		return err
	}},
	{"vendor-key", fixedLimit(10), func(t *testing.T, dir string) error {
		_, err := export.GenerateVendorKey(filepath.Join(dir, "vendor-key", "vendor.sign"))
		return err
	}},
	{"ledger", fixedLimit(10), func(t *testing.T, dir string) error {
		l, err := export.LoadLedger(filepath.Join(dir, "ledger", "vendor.ledger"))
		if err != nil {
			t.Fatal(err)
		}
		l.Accept(verified(t, "testdata/usage.db"))
		return l.Save()
	}},
	// The source closed: the copy fails in the backup itself.
	{"snapshot", fixedLimit(4096), func(t *testing.T, dir string) error {
		return export.Snapshot(filepath.Join(dir, "closed.db"), filepath.Join(dir, "snapshot", "snap.db"))
	}},
	// The source open in WAL mode, as the agent has it: there is room for the
	// copy's pages, not for the WAL index SQLite needs to switch the copy to
	// the DELETE journal.
	{"snapshot-live", func(t *testing.T, dir string) uint64 {
		var pages, size uint64
		b := readBytes(t, filepath.Join(dir, "live.db"))
		size = uint64(b[16])<<8 | uint64(b[17])
		pages, _ = strconv.ParseUint(queryStrings(t, filepath.Join(dir, "live.db"), "PRAGMA page_count")[0], 10, 64)
		if pages*size >= 32768 {
			t.Fatalf("live.db has %d pages of %d bytes; the test wants less than the 32 KiB of a WAL index", pages, size)
		}
		return pages * size
	}, func(t *testing.T, dir string) error {
		return export.Snapshot(filepath.Join(dir, "live.db"), filepath.Join(dir, "snapshot-live", "snap.db"))
	}},
}

func fixedLimit(n uint64) func(*testing.T, string) uint64 {
	return func(*testing.T, string) uint64 { return n }
}

// TestFullDiskChild is the child process of TestWritesOnAFullDisk: it runs
// each write under its limit and prints what each returned.
func TestFullDiskChild(t *testing.T) {
	dir := os.Getenv(fullDiskEnv)
	if dir == "" {
		t.Skip("the child process of TestWritesOnAFullDisk")
	}
	db := openDB(t, filepath.Join(dir, "live.db"), export.Detailed, testKey(t), agentA) // WAL mode while open
	defer db.Close()
	results := map[string]string{}
	for _, op := range fullDiskOps {
		limit := op.limit(t, dir)
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		lim := old
		lim.Cur = limit
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Fatal(err)
		}
		err := op.run(t, dir)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		results[op.name] = "ok"
		if err != nil {
			results[op.name] = err.Error()
		}
	}
	b, _ := json.Marshal(results)
	os.Stdout.Write(append(append([]byte("full-disk-results: "), b...), '\n'))
}

// Writes that run out of disk must fail and leave no partial file behind:
// a truncated key would sign nothing the vendor's copy verifies, a
// truncated ledger forgets the heads the vendor accepted, and a partial
// snapshot would be sent as the usage database.
func TestWritesOnAFullDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, op := range fullDiskOps {
		if err := os.Mkdir(filepath.Join(dir, op.name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := export.LoadLedger(filepath.Join(dir, "ledger", "vendor.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	ledgerBefore := readBytes(t, filepath.Join(dir, "ledger", "vendor.ledger"))
	build(t, filepath.Join(dir, "closed.db"), export.Detailed, testKey(t), agentA, 10)
	build(t, filepath.Join(dir, "live.db"), export.Detailed, testKey(t), agentA, 10)

	cmd := exec.Command(os.Args[0], "-test.run=^TestFullDiskChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fullDiskEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var results map[string]string
	if _, line, ok := strings.Cut(string(out), "full-disk-results: "); !ok || err != nil ||
		json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &results) != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}

	for _, op := range fullDiskOps {
		t.Run(op.name, func(t *testing.T) {
			if got := results[op.name]; got == "ok" || got == "" {
				t.Fatalf("%s on a full disk: %q, want an error", op.name, got)
			}
			left := files(t, filepath.Join(dir, op.name))
			switch op.name {
			case "ledger":
				if len(left) != 1 || string(readBytes(t, filepath.Join(dir, "ledger", "vendor.ledger"))) != string(ledgerBefore) {
					t.Fatalf("after the failed Save: %v, or the ledger changed; want the old ledger only", left)
				}
			default:
				if len(left) != 0 {
					t.Fatalf("the failed %s (%s) left %v", op.name, results[op.name], left)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "key", "vendor.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a key file after the failed GenerateKey: %v", err)
	}
}
