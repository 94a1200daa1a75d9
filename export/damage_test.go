package export_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/export"
)

// damagePage overwrites the b-tree page type of the page of path that holds
// needle (which must occur once) with a value no page has.
func damagePage(t *testing.T, path string, needle string) {
	t.Helper()
	execSQL(t, path, "VACUUM") // no stale copies in free space
	b := readBytes(t, path)
	pageSize := int(binary.BigEndian.Uint16(b[16:18]))
	i := bytes.Index(b, []byte(needle))
	if i < pageSize || bytes.Count(b, []byte(needle)) != 1 {
		t.Fatalf("%s at offset %d, %d times; want once, past page 1", needle, i, bytes.Count(b, []byte(needle)))
	}
	b[i/pageSize*pageSize] = 0x77
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// damageRootPage does the same to the root page of the index or table name.
func damageRootPage(t *testing.T, path, name string) {
	t.Helper()
	root := queryStrings(t, path, "SELECT rootpage FROM sqlite_schema WHERE name = '"+name+"'")
	var page int64
	if len(root) == 1 {
		fmt.Sscan(root[0], &page)
	}
	if page < 2 {
		t.Fatalf("root page of %s: %v", name, root)
	}
	b := readBytes(t, path)
	pageSize := int64(binary.BigEndian.Uint16(b[16:18]))
	b[(page-1)*pageSize] = 0x77
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A damaged page in the middle of the usage table: Verify reads the rows
// before it and names the first row it cannot read, so the vendor knows
// how much of the file is intact.
func TestVerifyNamesTheFirstUnreadableRow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	build(t, path, export.Detailed, testKey(t), agentA, 400)
	damagePage(t, path, "host-399") // action 200's hostname
	_, err := export.Verify(path, testKey(t))
	var ve *export.VerifyError
	if !errors.As(err, &ve) || ve.Seq <= 1 || ve.Seq > 200 || !strings.HasPrefix(ve.Reason, "unreadable: database disk image is malformed") {
		t.Fatalf("got %v, want the first unreadable row (at most seq 200) named", err)
	}
}

// At start-up the agent reads each license's counter through the license
// index. If that index is damaged, Open must fail: an agent that started
// with counters missing would write rows Verify rejects.
func TestOpenRefusesADamagedLicenseIndex(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	build(t, path, export.Detailed, testKey(t), agentA, 10)
	damageRootPage(t, path, "usage_license")
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Detailed, AgentID: agentA})
	if err == nil {
		db.Close()
		t.Fatal("Open of a file with a damaged license index succeeded")
	}
	if !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("got %v, want SQLite's report of the damage", err)
	}
}

// The same for the row that holds a license's counter: a license whose
// last row sits on a damaged page must fail Open, not start at 0.
func TestOpenRefusesADamagedCounterRow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	as := []export.Action{{WALSeq: 1, Time: at, Kind: export.Consume, Owner: "organizations/acme", Item: "OcrKit",
		LicenseID: "lic-early", Units: 9, Hostname: "host-early"}}
	for i := 2; i <= 400; i++ { // enough rows that the head is pages away from row 1
		as = append(as, export.Action{WALSeq: uint64(i), Time: at, Kind: export.Consume, Owner: "organizations/acme",
			Item: "PdfPro", LicenseID: "lic-late", Units: 1, Hostname: "host-late"})
	}
	if _, err := db.Write(as, 400); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	damagePage(t, path, "host-early")
	db, err := export.Open(export.Options{Path: path, Key: testKey(t), Level: export.Detailed, AgentID: agentA})
	if err == nil {
		c := db.Consumed("lic-early")
		db.Close()
		t.Fatalf("Open with lic-early's last row damaged succeeded (its counter: %d, was 9)", c)
	}
	if !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("got %v, want SQLite's report of the damage", err)
	}
}
