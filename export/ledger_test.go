package export_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterd/meterd/export"
)

// history is one agent's exports over time, and two forks: the data
// directory restored from the v1 backup, then written on.
type history struct {
	v1, v2, fork, forkSame, forkShort string // 4, 8, 10, 8 and 6 rows; forks diverge at 5
}

func newHistory(t testing.TB) *history {
	dir := t.TempDir()
	key := testKey(t)
	h := &history{}
	snapshot := func(name string, from string, as []export.Action) string {
		path := filepath.Join(dir, name)
		if from != "" {
			copyFile(t, from, path)
		}
		db := openDB(t, path, export.Detailed, key, agentA)
		if _, err := db.Write(as, as[len(as)-1].WALSeq); err != nil {
			t.Fatal(err)
		}
		db.Close()
		return path
	}
	as := actions(1, 8)
	h.v1 = snapshot("v1.db", "", as[:4])
	h.v2 = snapshot("v2.db", h.v1, as[4:])
	h.fork = snapshot("fork.db", h.v1, actions(101, 6))
	h.forkSame = snapshot("fork-same.db", h.v1, actions(101, 4))
	h.forkShort = snapshot("fork-short.db", h.v1, actions(101, 2))
	return h
}

func verified(t testing.TB, path string) *export.Summary {
	t.Helper()
	s, err := export.Verify(path, testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLedger(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	path := filepath.Join(t.TempDir(), "vendor.ledger")
	l, err := export.LoadLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(l *export.Ledger, file, wantReason string) {
		t.Helper()
		err := l.Check(verified(t, file))
		var ve *export.VerifyError
		switch {
		case wantReason == "" && err != nil:
			t.Fatalf("%s: got %v, want accepted", filepath.Base(file), err)
		case wantReason != "" && (!errors.As(err, &ve) || ve.Reason != wantReason || ve.Path != file):
			t.Fatalf("%s: got %v, want a VerifyError %q", filepath.Base(file), err, wantReason)
		}
	}
	check(l, h.v1, "")
	l.Accept(verified(t, h.v1))
	check(l, h.v1, "replayed")
	check(l, h.v2, "")
	check(l, h.fork, "") // v1's head lies on the fork too: only a later head tells
	l.Accept(verified(t, h.v2))
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}

	l, err = export.LoadLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := l.Head(agentA); !ok || e.HeadSeq != 8 || e.HeadMAC != verified(t, h.v2).HeadMAC || e.File != "v2.db" {
		t.Fatalf("reloaded head: %+v, %v", e, ok)
	}
	check(l, h.v1, "replayed")
	check(l, h.v2, "replayed")
	check(l, h.fork, "fork at seq 8")
	check(l, h.forkSame, "fork at seq 8")
	check(l, h.forkShort, "replayed") // ends before the head: an old copy or a fork, never new
	other := filepath.Join(t.TempDir(), "b.db")
	build(t, other, export.Detailed, testKey(t), agentB, 2)
	check(l, other, "")
}

func TestLedgerSave(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vendor.ledger")
	l, _ := export.LoadLedger(path)
	l.Accept(verified(t, "testdata/usage.db"))
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(); err != nil { // over an existing file
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %v, %v; want mode 0600", fi, err)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("directory holds %v, want the ledger only", got)
	}
}

func TestLoadLedgerBad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := func(content string) {
		t.Helper()
		path := filepath.Join(dir, "l")
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := export.LoadLedger(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("%q: got %v, want an error naming the file", content, err)
		}
	}
	f("not json")
	f(`{"version": 2, "agents": {}}`)
	f(`{"version": 1, "agents": {"a": {"head_seq": 3, "head_mac": "xyz"}}}`)
	f(`{"version": 1, "agents": {"a": {"head_seq": -1, "head_mac": "` + strings.Repeat("0", 64) + `"}}}`)
}
