package export

import (
	"fmt"
	"math"
	"slices"

	"zombiezen.com/go/sqlite"
)

const schemaVersion = "2"

// The schema objects exactly as created; Open and Verify compare
// sqlite_schema with them, so an added column, index, trigger or view shows.
// The index lets Open find each license's last row without reading the
// chain (see DB.loadConsumed); it carries no data of its own.
const (
	createMeta  = "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)"
	createUsage = "CREATE TABLE usage(seq INTEGER PRIMARY KEY, batch INTEGER, time TEXT, " +
		"action TEXT, owner TEXT, item TEXT, license_id TEXT, units INTEGER, events INTEGER, " +
		"license_consumed INTEGER, session TEXT, username TEXT, hostname TEXT, ipaddress TEXT, " +
		"external_id TEXT, vendor_signature TEXT, vendor_request TEXT, mac BLOB NOT NULL)"
	createLicenseIndex = "CREATE INDEX usage_license ON usage(license_id, seq)"
)

const (
	insertRow = "INSERT INTO usage(seq, batch, time, action, owner, item, license_id, units, " +
		"events, license_consumed, session, username, hostname, ipaddress, external_id, vendor_signature, " +
		"vendor_request, mac) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
	selectRows = "SELECT seq, batch, time, action, owner, item, license_id, units, events, " +
		"license_consumed, session, username, hostname, ipaddress, external_id, vendor_signature, vendor_request, " +
		"mac FROM usage"
)

// Meta keys.
const (
	metaSchemaVersion = "schema_version"
	metaAgentID       = "agent_id"
	metaKeyID         = "key_id"
	metaLevel         = "usage_level"
	metaCreated       = "created"
	metaHeadSeq       = "head_seq"
	metaHeadMAC       = "head_mac"
	metaWALSeq        = "wal_seq"
	metaMAC           = "meta_mac"
	// metaAgentVersion is optional: files written before agents recorded their build lack it.
	metaAgentVersion = "agent_version"
)

type schemaObject struct {
	typ, name, table string
	sql              value
}

var wantSchema = []schemaObject{
	{"table", "meta", "meta", textValue(createMeta)},
	{"index", "sqlite_autoindex_meta_1", "meta", value{tag: tagNull}},
	{"table", "usage", "usage", textValue(createUsage)},
	{"index", "usage_license", "usage", textValue(createLicenseIndex)},
}

func readSchema(conn *sqlite.Conn) ([]schemaObject, error) {
	stmt, err := conn.Prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")
	if err != nil {
		return nil, err
	}
	defer stmt.Reset()
	var objs []schemaObject
	for {
		ok, err := stmt.Step()
		if err != nil || !ok {
			return objs, err
		}
		objs = append(objs, schemaObject{
			typ: stmt.ColumnText(0), name: stmt.ColumnText(1), table: stmt.ColumnText(2),
			sql: readValue(stmt, 3),
		})
	}
}

// hasTables reports whether objs holds a table named meta or usage: whether
// the file is meant to be a usage database at all. (One without the other
// is a usage database someone dropped a table from.)
func hasTables(objs []schemaObject) bool {
	for _, o := range objs {
		if o.typ == "table" && (o.name == "meta" || o.name == "usage") {
			return true
		}
	}
	return false
}

// schemaProblem describes how objs differs from wantSchema, or returns "".
func schemaProblem(objs []schemaObject) string {
	for _, o := range objs {
		i := schemaIndex(o.name)
		if i < 0 {
			return fmt.Sprintf("schema: unexpected %s %q", o.typ, o.name)
		}
		if o != wantSchema[i] {
			return fmt.Sprintf("schema: %s %q altered", o.typ, o.name)
		}
	}
	for _, w := range wantSchema {
		if !slices.Contains(objs, w) {
			return fmt.Sprintf("schema: %s %q missing", w.typ, w.name)
		}
	}
	return ""
}

func schemaIndex(name string) int {
	for i, w := range wantSchema {
		if w.name == name {
			return i
		}
	}
	return -1
}

// readValue reads column col of the current row as stored, type included.
func readValue(stmt *sqlite.Stmt, col int) value {
	switch stmt.ColumnType(col) {
	case sqlite.TypeInteger:
		return intValue(stmt.ColumnInt64(col))
	case sqlite.TypeFloat:
		return value{tag: tagFloat, i: int64(math.Float64bits(stmt.ColumnFloat(col)))}
	case sqlite.TypeText:
		return textValue(stmt.ColumnText(col))
	case sqlite.TypeBlob:
		b := make([]byte, stmt.ColumnLen(col))
		stmt.ColumnBytes(col, b)
		return value{tag: tagBlob, s: string(b)}
	}
	return value{tag: tagNull}
}

// readRow reads a row selected by selectRows into r; ok is false when the
// mac column is not a 32-byte blob.
func readRow(stmt *sqlite.Stmt, r *row) (m mac, ok bool) {
	for i := range r {
		r[i] = readValue(stmt, i)
	}
	if stmt.ColumnType(numCols) == sqlite.TypeBlob && stmt.ColumnLen(numCols) == macSize {
		stmt.ColumnBytes(numCols, m[:])
		ok = true
	}
	return m, ok
}

// readMeta returns every meta row. Keys must be text: the writer writes no
// others, and meta_mac's order is defined over text keys.
func readMeta(conn *sqlite.Conn) ([]metaEntry, string, error) {
	stmt, err := conn.Prepare("SELECT key, value FROM meta")
	if err != nil {
		return nil, "", err
	}
	defer stmt.Reset()
	var entries []metaEntry
	for {
		ok, err := stmt.Step()
		if err != nil || !ok {
			return entries, "", err
		}
		if t := stmt.ColumnType(0); t != sqlite.TypeText {
			return nil, fmt.Sprintf("key of type %s", typeName(t)), nil
		}
		entries = append(entries, metaEntry{key: stmt.ColumnText(0), val: readValue(stmt, 1)})
	}
}

func typeName(t sqlite.ColumnType) string {
	switch t {
	case sqlite.TypeInteger:
		return "integer"
	case sqlite.TypeFloat:
		return "real"
	case sqlite.TypeText:
		return "text"
	case sqlite.TypeBlob:
		return "blob"
	}
	return "null"
}
