package main_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.write(t, "a.db", "agent-a", export.Detailed, consumes(1, 4, "users/ann"), consumes(5, 3, "users/ann"))
	b := e.write(t, "b.db", "agent-b", export.Standard, consumes(1, 5, "organizations/acme"))
	r := meterctl(t, "verify", "-key", e.key, a, b)
	r.want(t, 0, a+": ok agent=agent-a level=detailed rows=7 seq=1-7 units=21 key="+export.KeyID(e.keyBytes), "")
	r.want(t, 0, b+": ok agent=agent-b level=standard rows=", "")

	tampered := e.copy(t, a, "tampered.db")
	execSQL(t, tampered, "UPDATE usage SET units = 1 WHERE seq = 5")
	meterctl(t, "verify", "-key", e.key, a, tampered).want(t, 1, a+": ok", tampered+": seq 5: mac mismatch")
	cut := e.copy(t, a, "cut.db")
	execSQL(t, cut, "DELETE FROM usage WHERE seq > 4")
	meterctl(t, "verify", "-key", e.key, cut).want(t, 1, "", cut+": meta: head_seq 7 but last row is 4")

	text := filepath.Join(e.dir, "notes.txt")
	os.WriteFile(text, []byte("hello"), 0o644)
	meterctl(t, "verify", "-key", e.key, text).want(t, 2, "", "not a usage database")
	meterctl(t, "verify", "-key", e.key, tampered, text).want(t, 2, "", "seq 5: mac mismatch") // trouble wins
	meterctl(t, "verify", "-key", e.key, filepath.Join(e.dir, "missing.db")).want(t, 2, "", "no such file")

	other := filepath.Join(e.dir, "other.key")
	meterctl(t, "keygen", "-o", other).want(t, 0, "", "")
	meterctl(t, "verify", "-key", other, a).want(t, 1, "", "meta: signed by key "+export.KeyID(e.keyBytes))
	os.Chmod(other, 0o644)
	meterctl(t, "verify", "-key", other, a).want(t, 2, "", "mode 0644 is readable by others; chmod 600")
	meterctl(t, "verify", a).want(t, 2, "", "-key is required")
	meterctl(t, "verify", "-key", e.key).want(t, 2, "", "no usage database given")
}

func TestVerifyLedger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ledger := filepath.Join(e.dir, "vendor.ledger")
	v1 := e.write(t, "agent.db", "agent-a", export.Detailed, consumes(1, 4, "users/ann"))
	v1 = e.copy(t, v1, "v1.db")
	backup := e.copy(t, v1, "backup.db")
	v2 := e.write(t, "agent.db", "agent-a", export.Detailed, consumes(5, 4, "users/ann"))
	v2 = e.copy(t, v2, "v2.db")
	// The data directory restored from the v1 backup, then written on.
	os.Rename(backup, filepath.Join(e.dir, "restored.db"))
	fork := e.write(t, "restored.db", "agent-a", export.Detailed, consumes(5, 6, "users/eve"))

	verify := func(files ...string) result {
		return meterctl(t, append([]string{"verify", "-key", e.key, "-ledger", ledger}, files...)...)
	}
	verify(v1).want(t, 0, "rows=4", "")
	if _, err := os.Stat(ledger); err != nil {
		t.Fatalf("no ledger after accepting: %v", err)
	}
	verify(v1).want(t, 1, "", v1+": replayed")
	verify(v2).want(t, 0, "rows=8", "")
	verify(v1).want(t, 1, "", v1+": replayed")
	verify(fork).want(t, 1, "", fork+": fork at seq 8")

	b := e.write(t, "b.db", "agent-b", export.Detailed, consumes(1, 2, "users/bob"))
	before, _ := os.ReadFile(ledger)
	verify(b, v1).want(t, 1, b+": ok", "replayed")
	if after, _ := os.ReadFile(ledger); string(after) != string(before) {
		t.Fatal("a run with a refused file changed the ledger")
	}
	verify(b).want(t, 0, "ok", "")
}

// Units the agent wrote as an unexported row verify, with a warning line, and are billed.
func TestVerifyWarnsOfUnexported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := filepath.Join(e.dir, "gap.db")
	db, err := export.Open(export.Options{Path: path, Key: e.keyBytes, Level: export.Standard, AgentID: "agent-a"})
	if err != nil {
		t.Fatal(err)
	}
	as := consumes(1, 4, "users/ann")
	if _, err := db.Write(as, 4); err != nil {
		t.Fatal(err)
	}
	bal := export.Balance{LicenseID: "lic-users/ann", Owner: "users/ann", Item: "PdfPro", Consumed: 12 + 300}
	if _, err := db.Reconcile([]export.Balance{bal}, as[3].Time.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	meterctl(t, "verify", "-key", e.key, path).want(t, 0,
		path+": warning: seq 3: 300 units of users/ann PdfPro (license lic-users/ann) consumed between 2026-12-01T00:00:00Z and 2026-12-01T01:10:00Z", "")
	meterctl(t, "report", "-key", e.key, "-format", "csv", path).want(t, 0, "users/ann,PdfPro,2026-11,3,1\nusers/ann,PdfPro,2026-12,309,3\n", "")
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.write(t, "a.db", "agent-a", export.Detailed, consumes(1, 4, "users/ann"))
	out := filepath.Join(e.dir, "out.db")
	meterctl(t, "snapshot", "-key", e.key, a, out).want(t, 0, out+": ok agent=agent-a level=detailed rows=4", "")
	meterctl(t, "snapshot", a, out).want(t, 2, "", "destination exists: "+out)
	plain := filepath.Join(e.dir, "plain.db")
	meterctl(t, "snapshot", a, plain).want(t, 0, plain+": snapshot of "+a, "")
	meterctl(t, "snapshot", a).want(t, 2, "", "want the usage database and the file to write, got 1 arguments")
	text := filepath.Join(e.dir, "notes.txt")
	os.WriteFile(text, []byte("hello"), 0o644)
	meterctl(t, "snapshot", text, filepath.Join(e.dir, "x.db")).want(t, 2, "", "not a usage database")
}
