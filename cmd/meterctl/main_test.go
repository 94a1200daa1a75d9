package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/harness"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/export"
)

// Every test here calls t.Parallel: each runs the binary on files in its own t.TempDir, or
// reads testdata.

// bin is the meterctl binary TestMain builds, stamped as the Makefile stamps a build.
var bin string

const (
	stampVersion = "v0.0.0-test"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567"
	stamp        = "-X github.com/meterd/meterd/core/version.version=" + stampVersion +
		" -X github.com/meterd/meterd/core/version.commit=" + stampCommit
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterctl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "meterctl")
	// Kept from one run to the next while the sources stay the same (harness.GoBuild).
	if err := (harness.GoBuild{Args: []string{"-ldflags", stamp, "."}}).Into(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func meterctl(t *testing.T, args ...string) result {
	t.Helper()
	return meterctlStdin(t, nil, args...)
}

// meterctlStdin runs meterctl with stdin (nil: none) as its standard input.
func meterctlStdin(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	out, err := harness.RunToExit(stdin, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return result{out.Stdout, out.Stderr, out.Code}
}

func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("got exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q", r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// env is a vendor's working directory: a key and some exports.
type env struct {
	dir, key string
	keyBytes []byte
}

func newEnv(t *testing.T) *env {
	e := &env{dir: t.TempDir()}
	e.key = filepath.Join(e.dir, "vendor.key")
	meterctl(t, "keygen", "-o", e.key).want(t, 0, "new key", "")
	var err error
	if e.keyBytes, err = export.LoadKey(e.key); err != nil {
		t.Fatal(err)
	}
	return e
}

var t0 = time.Date(2026, 11, 30, 23, 50, 0, 0, time.UTC)

// consumes returns n consume actions of 3 units, 5 minutes apart from t0
// (so across midnight and a month end), WAL seqs from first on.
func consumes(first uint64, n int, owner string) []export.Action {
	as := make([]export.Action, n)
	for i := range as {
		seq := first + uint64(i)
		as[i] = export.Action{WALSeq: seq, Time: t0.Add(time.Duration(seq) * 5 * time.Minute), Kind: export.Consume,
			Owner: owner, Item: "PdfPro", LicenseID: "lic-" + owner, Units: 3, Username: "alice"}
	}
	return as
}

// write appends batches of actions to the database at path (made if
// missing) and closes it.
func (e *env) write(t *testing.T, name, agent string, level export.Level, batches ...[]export.Action) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	db, err := export.Open(export.Options{Path: path, Key: e.keyBytes, Level: level, AgentID: agent})
	if err != nil {
		t.Fatal(err)
	}
	for _, as := range batches {
		if _, err := db.Write(as, as[len(as)-1].WALSeq); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func (e *env) copy(t *testing.T, from, name string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(e.dir, name)
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

func execSQL(t *testing.T, path, script string) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := sqlitex.ExecuteScript(conn, script, nil); err != nil {
		t.Fatal(err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	r := meterctl(t)
	r.want(t, 2, "", "usage: meterctl")
	for _, name := range []string{"keygen", "verify", "report", "signkey", "sign"} {
		if !strings.Contains(r.stderr, "  "+name+" ") {
			t.Fatalf("usage does not list %s:\n%s", name, r.stderr)
		}
	}
	meterctl(t, "help").want(t, 0, "commands:", "")
	meterctl(t, "help", "report").want(t, 0, "-format", "")
	meterctl(t, "frobnicate").want(t, 2, "", `unknown command "frobnicate"`)
	meterctl(t, "verify", "-h").want(t, 0, "usage: meterctl verify", "")
	meterctl(t, "report", "-bogus", "x.db").want(t, 2, "", "Run 'meterctl report -h' for usage.")
}
