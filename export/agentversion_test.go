package export_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/export"
)

const (
	buildOne = "version=v1.0.0 commit=0123abcd goversion=go1.26.8"
	buildTwo = "version=v1.1.0 commit=4567ef01 goversion=go1.26.8"
)

// reopen opens path as the agent of build v would, writes one batch and closes it.
func reopen(t *testing.T, path, v string, first uint64) {
	t.Helper()
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Standard, AgentID: agentA, AgentVersion: v})
	if err != nil {
		t.Fatal(err)
	}
	as := actions(first, 2)
	if _, err := db.Write(as, as[1].WALSeq); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func agentVersionRow(t *testing.T, path string) []string {
	t.Helper()
	return queryStrings(t, path, "SELECT value FROM meta WHERE key = 'agent_version'")
}

// The agent_version row names the build that last opened the file for writing, and the
// file verifies through each change of build.
func TestAgentVersionFollowsTheBuild(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	build(t, path, export.Standard, testKey(t), agentA, 3) // an agent that records no build
	if got := agentVersionRow(t, path); len(got) != 0 {
		t.Fatalf("got agent_version %q from an Open without AgentVersion", got)
	}
	f := func(v string, first uint64) {
		t.Helper()
		reopen(t, path, v, first)
		if got := agentVersionRow(t, path); len(got) != 1 || got[0] != v {
			t.Fatalf("got agent_version %q, want %q", got, v)
		}
		if _, err := export.Verify(path, testKey(t)); err != nil {
			t.Fatalf("after an Open by %s: %v", v, err)
		}
	}
	f(buildOne, 100) // added to a file that lacked it
	f(buildOne, 200) // kept
	f(buildTwo, 300) // rewritten
	reopen(t, path, "", 400)
	if got := agentVersionRow(t, path); len(got) != 1 || got[0] != buildTwo {
		t.Fatalf("an Open without AgentVersion changed agent_version to %q", got)
	}
}

// A new file has the row from the start.
func TestAgentVersionOfANewFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Detailed, AgentID: agentA, AgentVersion: buildOne})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := agentVersionRow(t, path); len(got) != 1 || got[0] != buildOne {
		t.Fatalf("got agent_version %q, want %q", got, buildOne)
	}
	if _, err := export.Verify(path, testKey(t)); err != nil {
		t.Fatal(err)
	}
}

// An Open by the build the row already names writes nothing: the file's write-ahead log
// stays empty until the first Write.
func TestAgentVersionUnchangedWritesNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	reopen(t, path, buildOne, 1)
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Standard, AgentID: agentA, AgentVersion: buildOne})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("Open wrote %d bytes to the write-ahead log with agent_version unchanged", fi.Size())
	}
}

// The row is signed with the rest of meta: a changed or deleted agent_version fails both
// Verify and the agent's Open.
func TestAgentVersionTampered(t *testing.T) {
	t.Parallel()
	pristine := filepath.Join(t.TempDir(), "usage.db")
	reopen(t, pristine, buildOne, 1)
	for _, script := range []string{
		"UPDATE meta SET value = '" + buildTwo + "' WHERE key = 'agent_version'",
		"DELETE FROM meta WHERE key = 'agent_version'",
	} {
		path := filepath.Join(t.TempDir(), "usage.db")
		copyFile(t, pristine, path)
		execSQL(t, path, script)
		_, err := export.Verify(path, testKey(t))
		var ve *export.VerifyError
		if !errors.As(err, &ve) || !ve.Meta || ve.Reason != "meta_mac mismatch" {
			t.Fatalf("%s: verify got %v, want meta_mac mismatch", script, err)
		}
		_, err = export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Standard, AgentID: agentA, AgentVersion: buildOne})
		if !errors.As(err, &ve) || !ve.Meta {
			t.Fatalf("%s: open got %v, want a meta VerifyError", script, err)
		}
	}
}
