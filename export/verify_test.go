package export_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/export"
)

// specEncode is the canonical encoding as doc.go describes it, written
// again from that description.
func specEncode(stmt *sqlite.Stmt, col int) []byte {
	switch stmt.ColumnType(col) {
	case sqlite.TypeNull:
		return []byte{5}
	case sqlite.TypeInteger:
		return binary.BigEndian.AppendUint64([]byte{1}, uint64(stmt.ColumnInt64(col)))
	case sqlite.TypeFloat:
		return binary.BigEndian.AppendUint64([]byte{2}, math.Float64bits(stmt.ColumnFloat(col)))
	}
	tag := byte(3)
	if stmt.ColumnType(col) == sqlite.TypeBlob {
		tag = 4
	}
	b := make([]byte, stmt.ColumnLen(col))
	stmt.ColumnBytes(col, b)
	return append(binary.BigEndian.AppendUint32([]byte{tag}, uint32(len(b))), b...)
}

func hmacOf(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// TestChainSpec recomputes every MAC of a golden file from the description
// in doc.go, so the description and the code cannot drift apart.
func TestChainSpec(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	conn, err := sqlite.OpenConn("testdata/usage-detailed.db", sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	meta := map[string]string{}
	err = sqlitex.ExecuteTransient(conn, "SELECT key, value FROM meta", &sqlitex.ExecOptions{ResultFunc: func(s *sqlite.Stmt) error {
		meta[s.ColumnText(0)] = s.ColumnText(1)
		return nil
	}})
	if err != nil || len(meta) == 0 {
		t.Fatalf("read meta: %v (%d rows)", err, len(meta))
	}
	var keys []string
	for k := range meta {
		if k != "meta_mac" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	input := []byte("meterd usage meta v1\x00")
	for _, k := range keys {
		input = append(input, 3, 0, 0, 0, byte(len(k)))
		input = append(input, k...)
		input = append(input, 3, 0, 0, 0, byte(len(meta[k])))
		input = append(input, meta[k]...)
	}
	if got := hex.EncodeToString(hmacOf(key, input)); got != meta["meta_mac"] {
		t.Fatalf("meta_mac: computed %s, file holds %s", got, meta["meta_mac"])
	}
	prev, rows := hmacOf(key, []byte(meta["agent_id"])), 0
	err = sqlitex.ExecuteTransient(conn, "SELECT * FROM usage ORDER BY seq", &sqlitex.ExecOptions{ResultFunc: func(s *sqlite.Stmt) error {
		var canon []byte
		last := s.ColumnCount() - 1 // mac, the last column
		for col := 0; col < last; col++ {
			canon = append(canon, specEncode(s, col)...)
		}
		mac := make([]byte, 32)
		s.ColumnBytes(last, mac)
		if want := hmacOf(key, prev, canon); !bytes.Equal(mac, want) {
			t.Fatalf("seq %d: file holds %x, spec gives %x", s.ColumnInt64(0), mac, want)
		}
		prev, rows = mac, rows+1
		return nil
	}})
	if err != nil || rows == 0 || hex.EncodeToString(prev) != meta["head_mac"] {
		t.Fatalf("%v: %d rows, head %x, meta head_mac %s", err, rows, prev, meta["head_mac"])
	}
}

// TestVerifyLiveDatabase verifies a database the agent still has open (WAL
// mode, rows in the -wal file), and a copy of its main file taken without
// the WAL: neither may create files next to it.
func TestVerifyLiveDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	db := openDB(t, path, export.Detailed, testKey(t), agentA)
	defer db.Close()
	if _, err := db.Write(actions(1, 5), 9); err != nil {
		t.Fatal(err)
	}
	if s, err := export.Verify(path, testKey(t)); err != nil || s.Rows != 5 {
		t.Fatalf("live: got %+v, %v; want 5 rows", s, err)
	}
	copyDir := t.TempDir()
	copyFile(t, path, filepath.Join(copyDir, "usage.db"))
	before := readBytes(t, filepath.Join(copyDir, "usage.db"))
	// Even the tables still sit in the -wal file: the copy is no usage
	// database yet.
	if _, err := export.Verify(filepath.Join(copyDir, "usage.db"), testKey(t)); !errors.Is(err, export.ErrNotUsageDB) {
		t.Fatalf("copy without its WAL: got %v, want ErrNotUsageDB", err)
	}
	after := readBytes(t, filepath.Join(copyDir, "usage.db"))
	if got := files(t, copyDir); len(got) != 1 || len(before) == 0 || !bytes.Equal(before, after) {
		t.Fatalf("Verify of a WAL-mode copy left %v or changed it", got)
	}
}
