package main_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// exactly is want with the whole of both outputs.
func (r result) exactly(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Fatalf("got exit %d\nstdout: %q\nstderr: %q\nwant exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	want := "meterctl version=" + stampVersion + " commit=" + stampCommit + " goversion=" + runtime.Version() + "\n"
	meterctl(t, "version").exactly(t, 0, want, "")
	meterctl(t, "-version").exactly(t, 0, want, "")
	meterctl(t, "version", "extra").exactly(t, 2, "", "meterctl version: unexpected argument \"extra\"\nRun 'meterctl version -h' for usage.\n")
}

// -h of every command goes to standard output with exit 0, each flag with its type and default.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"report", "-h"}, {"help", "report"}, {"report", "--help"}} {
		r := meterctl(t, args...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: meterctl report -key FILE") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{
			"  -by period\n    \ttotal per period: month or day (UTC) (default \"month\")\n",
			"  -format format\n    \toutput format: table, csv, json, or html (one self-contained page: totals, a chart of units per day, every file's verify summary) (default \"table\")\n",
			"  -provisions\n    \tlist the provisioning transactions",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("%v: usage lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	for _, c := range []string{"keygen", "verify", "snapshot", "signkey", "sign", "dump", "version"} {
		if r := meterctl(t, c, "-h"); r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: meterctl "+c) {
			t.Fatalf("%s -h: exit %d, stdout %q, stderr %q", c, r.code, r.stdout, r.stderr)
		}
	}
	meterctl(t, "-h").want(t, 0, "  version  print the version, commit and Go version\n", "")
}

// A mistake on the command line is said once, with the way to the usage, and exits 2.
func TestCommandLineMistakes(t *testing.T) {
	t.Parallel()
	meterctl(t, "verify", "-bogus").exactly(t, 2, "", "meterctl verify: unknown flag -bogus\nRun 'meterctl verify -h' for usage.\n")
	meterctl(t, "verify", "x.db").exactly(t, 2, "", "meterctl verify: -key is required\nRun 'meterctl verify -h' for usage.\n")
	meterctl(t, "frobnicate").exactly(t, 2, "", "meterctl: unknown command \"frobnicate\"\nRun 'meterctl -h' for usage.\n")
	meterctl(t, "keygen", "-o").exactly(t, 2, "", "meterctl keygen: flag needs an argument: -o\nRun 'meterctl keygen -h' for usage.\n")
}

// The two usual mistakes with -key are named with the fix; the rest carry no package prefix.
func TestKeyMistakes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := e.write(t, "a.db", "agent-a", export.Standard, consumes(1, 2, "users/ann"))
	meterctl(t, "verify", "-key", e.dir, db).exactly(t, 2, "", "meterctl verify: -key "+e.dir+
		" is a directory, not a key file; give the key file itself (the agent's is usage.key in its data directory by default)\n")
	missing := filepath.Join(e.dir, "missing.key")
	meterctl(t, "report", "-key", missing, db).exactly(t, 2, "", "meterctl report: -key "+missing+
		": no such file; give the key the agent signs with (its USAGE_KEY_FILE, usage.key in its data directory by default), "+
		"or make one with meterctl keygen -o FILE\n")
	open := e.copy(t, e.key, "open.key")
	os.Chmod(open, 0o644)
	meterctl(t, "verify", "-key", open, db).exactly(t, 2, "", "meterctl verify: -key: "+open+": mode 0644 is readable by others; chmod 600\n")
}

// signkey refuses an existing private or public key file by name.
func TestSignkeyExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vendor.sign")
	if err := os.WriteFile(path+".pub", []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	meterctl(t, "signkey", "-o", path).exactly(t, 1, "", "meterctl signkey: "+path+".pub already exists; choose another -o path or remove it\n")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("signkey wrote the private key beside an existing public key: %v", err)
	}
}

// A file that names the agent's build verifies; so does one written before agents named it;
// an edited or deleted agent_version fails verification.
func TestVerifyAgentVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := e.write(t, "old.db", "agent-a", export.Standard, consumes(1, 2, "users/ann"))
	path := filepath.Join(e.dir, "new.db")
	db, err := export.Open(export.Options{Path: path, Key: e.keyBytes, Level: export.Standard, AgentID: "agent-b",
		AgentVersion: "version=v1.0.0 commit=0123abcd goversion=go1.26.8"})
	if err != nil {
		t.Fatal(err)
	}
	as := consumes(1, 2, "users/bob")
	if _, err := db.Write(as, 2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	meterctl(t, "verify", "-key", e.key, old, path).exactly(t, 0,
		old+": ok agent=agent-a level=standard rows=2 seq=1-2 units=6 key="+export.KeyID(e.keyBytes)+"\n"+
			path+": ok agent=agent-b level=standard rows=2 seq=1-2 units=6 key="+export.KeyID(e.keyBytes)+"\n", "")
	for _, script := range []string{
		"UPDATE meta SET value = 'version=v9.9.9 commit=0123abcd goversion=go1.26.8' WHERE key = 'agent_version'",
		"DELETE FROM meta WHERE key = 'agent_version'",
	} {
		tampered := e.copy(t, path, "tampered.db")
		execSQL(t, tampered, script)
		meterctl(t, "verify", "-key", e.key, tampered).exactly(t, 1, "", "meterctl verify: "+tampered+": meta: meta_mac mismatch\n")
	}
}
