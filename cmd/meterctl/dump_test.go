package main_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/export"
)

// dumpFixture writes a detailed database of five rows, through export's
// writer: a provision, two consumes by two users on two hosts, a checkin,
// and (after a Reconcile) units without actions as an unexported row.
func dumpFixture(t *testing.T, e *env) string {
	t.Helper()
	path := e.dir + "/usage.db"
	db, err := export.Open(export.Options{Path: path, Key: e.keyBytes, Level: export.Detailed, AgentID: "agent-d",
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	lic := func(a export.Action) export.Action {
		a.Owner, a.Item, a.LicenseID = "organizations/acme", "PdfPro", "lic-1"
		return a
	}
	as := []export.Action{
		lic(export.Action{WALSeq: 1, Time: t0, Kind: export.Provision, Units: 1000, ExternalID: "order 7"}),
		lic(export.Action{WALSeq: 2, Time: t0.Add(time.Minute), Kind: export.Consume, Units: 4, Session: "s-1",
			Username: "alice", Hostname: "ws-17", IPAddress: "10.0.0.7"}),
		lic(export.Action{WALSeq: 3, Time: t0.Add(90 * time.Second), Kind: export.Checkout, Units: 2, Session: "s-2",
			Username: "bob smith", Hostname: "ws-18", IPAddress: "10.0.0.8"}),
		lic(export.Action{WALSeq: 4, Time: t0.Add(2 * time.Minute), Kind: export.Checkin, Session: "s-2",
			Username: "bob smith", Hostname: "ws-18", IPAddress: "10.0.0.8"}),
	}
	if _, err := db.Write(as, 4); err != nil {
		t.Fatal(err)
	}
	bal := export.Balance{LicenseID: "lic-1", Owner: "organizations/acme", Item: "PdfPro", Consumed: 50}
	if _, err := db.Reconcile([]export.Balance{bal}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDumpText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := dumpFixture(t, e)
	rows := "seq=1 batch=1 time=2026-11-30T23:50:00Z action=provision owner=organizations/acme item=PdfPro license_id=lic-1 units=1000 events=1 license_consumed=0 external_id=\"order 7\"\n" +
		"seq=2 batch=1 time=2026-11-30T23:51:00Z action=consume owner=organizations/acme item=PdfPro license_id=lic-1 units=4 events=1 license_consumed=4 session=s-1 username=alice hostname=ws-17 ipaddress=10.0.0.7\n" +
		"seq=3 batch=1 time=2026-11-30T23:51:30Z action=checkout owner=organizations/acme item=PdfPro license_id=lic-1 units=2 events=1 license_consumed=6 session=s-2 username=\"bob smith\" hostname=ws-18 ipaddress=10.0.0.8\n" +
		"seq=4 batch=1 time=2026-11-30T23:52:00Z action=checkin owner=organizations/acme item=PdfPro license_id=lic-1 units=0 events=1 license_consumed=6 session=s-2 username=\"bob smith\" hostname=ws-18 ipaddress=10.0.0.8\n" +
		"seq=5 batch=2 time=2026-12-01T00:50:00Z action=unexported owner=organizations/acme item=PdfPro license_id=lic-1 units=44 events=0 license_consumed=50\n"
	plain := "# " + path + "\n" + rows + "# " + path + ": agent=agent-d level=detailed rows=5 seq=1-5: not verified (no -key)\n"
	meterctl(t, "dump", path).wantExactly(t, 0, plain, "")

	var keyed strings.Builder
	keyed.WriteString("# " + path + "\n")
	for _, l := range strings.SplitAfter(rows, "\n")[:5] {
		keyed.WriteString("verified   " + l)
	}
	keyed.WriteString("# " + path + ": agent=agent-d level=detailed rows=5 seq=1-5: verified\n")
	meterctl(t, "dump", "-key", e.key, path).wantExactly(t, 0, keyed.String(), "")
}

func TestDumpTampered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := dumpFixture(t, e)
	bad := e.copy(t, good, "tampered.db")
	execSQL(t, bad, "UPDATE usage SET units = 1 WHERE seq = 2")
	r := meterctl(t, "dump", "-key", e.key, bad, good)
	lines := strings.Split(r.stdout, "\n")
	if r.code != 1 || len(lines) != 2*7+1 || r.stderr != "meterctl dump: "+bad+": seq 2: mac mismatch\n" {
		t.Fatalf("got exit %d\n%s%s\nwant exit 1, both files printed, the break on stderr", r.code, r.stdout, r.stderr)
	}
	for i, prefix := range []string{"# " + bad, "verified   seq=1 ", "BAD        seq=2 ", "unverified seq=3 ",
		"unverified seq=4 ", "unverified seq=5 ", "# " + bad + ": agent=agent-d level=detailed rows=5 seq=1-5: FAILED: seq 2: mac mismatch",
		"# " + good, "verified   seq=1 "} {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Fatalf("line %d: %q, want it to start %q", i+1, lines[i], prefix)
		}
	}
	if !strings.Contains(lines[2], " units=1 ") || !strings.HasSuffix(lines[2], ` problem="mac mismatch"`) {
		t.Fatalf("the bad row shows %q, want the tampered units and the problem", lines[2])
	}
	// Without the key nothing is marked and the file is not judged.
	r = meterctl(t, "dump", bad)
	if r.code != 0 || regexp.MustCompile(`(?m)^(verified|BAD|unverified) `).MatchString(r.stdout) || !strings.Contains(r.stdout, "seq=2 batch=1") {
		t.Fatalf("without -key: exit %d\n%s", r.code, r.stdout)
	}
}

func TestDumpCSVAndJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := dumpFixture(t, e)
	bad := e.copy(t, good, "tampered.db")
	execSQL(t, bad, "UPDATE usage SET owner = 'users/eve' WHERE seq = 3")

	r := meterctl(t, "dump", "-key", e.key, "-format", "csv", good, bad)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != 1 || len(recs) != 1+10 {
		t.Fatalf("csv: exit %d, %v, %d records\n%s%s", r.code, err, len(recs), r.stdout, r.stderr)
	}
	if got := strings.Join(recs[0], ","); got != "file,seq,batch,time,action,owner,item,license_id,units,events,"+
		"license_consumed,session,username,hostname,ipaddress,external_id,vendor_signature,vendor_request,check,problem" {
		t.Fatalf("csv header %s", got)
	}
	want := []string{bad, "3", "1", "2026-11-30T23:51:30Z", "checkout", "users/eve", "PdfPro", "lic-1", "2", "1", "6",
		"s-2", "bob smith", "ws-18", "10.0.0.8", "", "", "", "BAD", "mac mismatch"}
	if got := recs[8]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("csv row\n%q\nwant\n%q", got, want)
	}
	for i, check := range []string{"verified", "verified", "verified", "verified", "verified", "verified", "verified", "BAD", "unverified", "unverified"} {
		if recs[i+1][18] != check {
			t.Fatalf("csv record %d: check %q, want %q", i+1, recs[i+1][18], check)
		}
	}

	r = meterctl(t, "dump", "-format", "json", good)
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	var objs []map[string]any
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("json line %q: %v", sc.Text(), err)
		}
		objs = append(objs, o)
	}
	if r.code != 0 || len(objs) != 5 {
		t.Fatalf("json: exit %d, %d objects\n%s%s", r.code, len(objs), r.stdout, r.stderr)
	}
	wantObj := map[string]any{"file": good, "seq": 2.0, "batch": 1.0, "time": "2026-11-30T23:51:00Z", "action": "consume",
		"owner": "organizations/acme", "item": "PdfPro", "license_id": "lic-1", "units": 4.0, "events": 1.0,
		"license_consumed": 4.0, "session": "s-1", "username": "alice", "hostname": "ws-17", "ipaddress": "10.0.0.7"}
	if got := objs[1]; len(got) != len(wantObj) {
		t.Fatalf("json row %v, want %v (no check without -key)", got, wantObj)
	}
	for k, v := range wantObj {
		if objs[1][k] != v {
			t.Fatalf("json row %s = %v, want %v", k, objs[1][k], v)
		}
	}
	r = meterctl(t, "dump", "-key", e.key, "-format", "json", bad)
	if r.code != 1 || !strings.Contains(r.stdout, `"check":"BAD"`) || strings.Count(r.stdout, "\n") != 5 {
		t.Fatalf("json with -key: exit %d\n%s", r.code, r.stdout)
	}
}

func TestDumpUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := dumpFixture(t, e)
	meterctl(t, "help", "dump").want(t, 0, "usage: meterctl dump [-key FILE] [-format text|csv|json] usage.db...", "")
	meterctl(t, "dump").want(t, 2, "", "no usage database given")
	meterctl(t, "dump", "-format", "xml", path).want(t, 2, "", `-format "xml"`)
	meterctl(t, "dump", "-key", e.dir+"/missing.key", path).want(t, 2, "", "missing.key")
	conn, err := sqlite.OpenConn(e.dir+"/other.db", sqlite.OpenReadWrite|sqlite.OpenCreate)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.ExecuteTransient(conn, "CREATE TABLE t(x)", nil); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	r := meterctl(t, "dump", e.dir+"/other.db", path)
	if r.code != 2 || !strings.Contains(r.stderr, "not a usage database") || !strings.Contains(r.stdout, "seq=5 ") ||
		strings.Contains(r.stdout, "other.db") {
		t.Fatalf("got exit %d\n%s%s\nwant 2, the other file's error, and the good file printed", r.code, r.stdout, r.stderr)
	}
}

func (r result) wantExactly(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Fatalf("got exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}
