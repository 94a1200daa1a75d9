package export

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"zombiezen.com/go/sqlite/sqlitex"
)

// create writes the schema and the meta of an empty database in one
// transaction.
func (db *DB) create(opts *Options) (err error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	db.head, db.consumed = db.sign.start(db.agentID), make(map[string]int64)
	db.meta = metaText(
		metaSchemaVersion, schemaVersion,
		metaAgentID, db.agentID,
		metaKeyID, KeyID(opts.Key),
		metaLevel, db.level.String(),
		metaCreated, now().UTC().Format(time.RFC3339),
		metaHeadSeq, "0",
		metaHeadMAC, hex.EncodeToString(db.head[:]),
		metaWALSeq, "0",
	)
	sum := db.sign.meta(db.meta)
	if err := db.createTx(hex.EncodeToString(sum[:])); err != nil {
		return fmt.Errorf("export: create %s: %w", db.path, err)
	}
	return syncDir(filepath.Dir(db.path))
}

func (db *DB) createTx(metaMACHex string) (err error) {
	end, err := sqlitex.ImmediateTransaction(db.conn)
	if err != nil {
		return err
	}
	defer end(&err)
	if err := sqlitex.ExecuteScript(db.conn, createMeta+";\n"+createUsage+";\n"+createLicenseIndex+";", nil); err != nil {
		return err
	}
	for _, e := range db.meta {
		if err := db.insertMeta(e.key, e.val.s); err != nil {
			return err
		}
	}
	return db.insertMeta(metaMAC, metaMACHex)
}

func (db *DB) insertMeta(key, val string) error {
	return sqlitex.Execute(db.conn, "INSERT INTO meta(key, value) VALUES (?, ?)", &sqlitex.ExecOptions{Args: []any{key, val}})
}

// syncDir makes a new file's directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("export: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("export: sync %s: %w", dir, err)
	}
	return nil
}

// load checks an existing database against Options, then its meta table and
// its head row. It does not read the whole chain: that is Verify's job, and
// start-up must not grow with the file.
func (db *DB) load(objs []schemaObject, keyID string) error {
	if !hasTables(objs) {
		return fmt.Errorf("%w: %s: no meta or usage table", ErrNotUsageDB, db.path)
	}
	if p := schemaProblem(objs); p != "" {
		return &VerifyError{Path: db.path, Reason: p}
	}
	entries, reason, err := readMeta(db.conn)
	if err != nil {
		return fmt.Errorf("export: open %s: %w", db.path, err)
	}
	if reason != "" {
		return &VerifyError{Path: db.path, Meta: true, Reason: reason}
	}
	if err := db.match(entries, keyID); err != nil {
		return err
	}
	m, err := checkMeta(db.path, entries, db.sign, keyID)
	if err != nil {
		return err
	}
	db.meta, db.head, db.seg = m.entries, m.headMAC, m.seg
	db.headSeq.Store(m.headSeq)
	db.walSeq.Store(m.walSeq)
	if err := db.checkHead(m); err != nil {
		return err
	}
	if db.seg.segment > 1 && db.last.Before(db.seg.start) {
		db.last = db.seg.start // no row of a segment is dated before its period
	}
	if err := db.loadConsumed(); err != nil {
		return fmt.Errorf("export: open %s: %w", db.path, err)
	}
	return nil
}

// match compares the fields Options decide with the file's, before meta_mac
// is checked: with another key meta_mac cannot verify, and "key_id" says
// more than "meta_mac mismatch".
func (db *DB) match(entries []metaEntry, keyID string) error {
	want := [][2]string{{metaAgentID, db.agentID}, {metaKeyID, keyID}, {metaLevel, db.level.String()}}
	for _, w := range want {
		got := "<missing>"
		for _, e := range entries {
			if e.key == w[0] {
				got = e.val.s
			}
		}
		if got != w[1] {
			return fmt.Errorf("%w: %s: %s is %q, want %q", ErrMismatch, db.path, w[0], got, w[1])
		}
	}
	return nil
}

// checkHead verifies that the last row is head_seq, that its MAC chains from
// the row before it, and that it equals head_mac.
func (db *DB) checkHead(m *metaInfo) error {
	last, err := db.maxSeq()
	if err != nil {
		return err
	}
	first, prev := m.chainStart(db.sign)
	if last == 0 {
		last = first // a segment without rows
	}
	if last != m.headSeq {
		return &VerifyError{Path: db.path, Meta: true, Reason: fmt.Sprintf("head_seq %d but last row is %d", m.headSeq, last)}
	}
	if last == first {
		if prev != m.headMAC {
			return &VerifyError{Path: db.path, Meta: true, Reason: "head_mac is not the chain start"}
		}
		return nil
	}
	if last > first+1 {
		var r row
		if prev, err = db.rowAt(last-1, &r); err != nil {
			return err
		}
	}
	var r row
	got, err := db.rowAt(last, &r)
	if err != nil {
		return err
	}
	if want := db.sign.row(&prev, &r); got != want {
		return &VerifyError{Path: db.path, Seq: last, Reason: "mac mismatch"}
	}
	if got != m.headMAC {
		return &VerifyError{Path: db.path, Meta: true, Reason: fmt.Sprintf("head_mac does not match row %d", last)}
	}
	if r[colBatch].tag != tagInteger {
		return &VerifyError{Path: db.path, Seq: last, Reason: "batch is not an integer"}
	}
	t, ok := parseTime(r[colTime].s)
	if r[colTime].tag != tagText || !ok {
		return &VerifyError{Path: db.path, Seq: last, Reason: "time is not RFC 3339 UTC"}
	}
	db.batch, db.last = r[colBatch].i, t
	return nil
}

func (db *DB) maxSeq() (int64, error) {
	stmt, err := db.conn.Prepare("SELECT coalesce(max(seq), 0) FROM usage")
	var n int64
	if err == nil {
		n, err = sqlitex.ResultInt64(stmt)
	}
	if err != nil {
		return 0, fmt.Errorf("export: open %s: %w", db.path, err)
	}
	return n, nil
}

// rowAt reads row seq into r and returns its mac.
func (db *DB) rowAt(seq int64, r *row) (mac, error) {
	stmt, err := db.conn.Prepare(selectRows + " WHERE seq = ?")
	if err != nil {
		return mac{}, fmt.Errorf("export: open %s: %w", db.path, err)
	}
	defer stmt.Reset()
	stmt.BindInt64(1, seq)
	ok, err := stmt.Step()
	if err != nil {
		return mac{}, fmt.Errorf("export: open %s: %w", db.path, err)
	}
	if !ok {
		return mac{}, &VerifyError{Path: db.path, Seq: seq, Reason: "row missing"}
	}
	m, ok := readRow(stmt, r)
	if !ok {
		return mac{}, &VerifyError{Path: db.path, Seq: seq, Reason: "mac is not a 32-byte blob"}
	}
	return m, nil
}
