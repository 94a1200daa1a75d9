package export

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"unsafe"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// writeScratch is reused by every Write so the export path allocates little.
type writeScratch struct {
	row    row
	bound  row  // values bound to the insert statement's parameters
	nbound bool // whether bound holds anything (Prepare clears the bindings)
	time   []byte
	meta   []metaEntry
	groups map[groupKey]int
	agg    []aggRow
}

// tx is the chain state a write builds; it becomes the DB's only after
// COMMIT, so a failed write leaves the DB as it was.
type tx struct {
	seq   int64
	head  mac
	batch int64
}

// Write appends the rows for actions (in WAL order) and moves wal_seq to
// throughWALSeq, all in one transaction. Actions at or below ExportedSeq are
// skipped, so a caller that crashed after a Write but before recording it
// can send the same actions again without a row being written twice.
// throughWALSeq must be at least every action's WALSeq; it may go further,
// past WAL records that are not actions. Several actions may share a WAL
// seq (one record, several items); they must all be in the same Write,
// since the watermark covers whole records. It returns the number of rows
// written: one per action at Detailed level, one per batch, license, action
// and UTC day at Standard level.
func (db *DB) Write(actions []Action, throughWALSeq uint64) (rows int, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return 0, ErrClosed
	}
	rows, err = db.write(actions, throughWALSeq)
	db.lastErr = err
	return rows, err
}

func (db *DB) write(actions []Action, through uint64) (int, error) {
	exported := db.walSeq.Load()
	for len(actions) > 0 && actions[0].WALSeq <= exported {
		actions = actions[1:]
	}
	if err := checkActions(actions, through); err != nil {
		return 0, err
	}
	if through <= exported {
		return 0, nil
	}
	t := tx{seq: db.headSeq.Load(), head: db.head, batch: db.batch}
	if len(actions) > 0 {
		t.batch++
	}
	if err := db.commit(&t, actions, through); err != nil {
		return 0, fmt.Errorf("export: write %s: %w", db.path, err)
	}
	rows := int(t.seq - db.headSeq.Load())
	db.head, db.batch = t.head, t.batch
	db.meta, db.w.meta = db.w.meta, db.meta
	db.headSeq.Store(t.seq)
	db.walSeq.Store(through)
	return rows, nil
}

func checkActions(actions []Action, through uint64) error {
	var prev uint64
	for i := range actions {
		a := &actions[i]
		if err := a.check(); err != nil {
			return err
		}
		if a.WALSeq < prev { // equal is fine: one record may hold several actions
			return fmt.Errorf("%w: WAL seq %d after %d", ErrInvalidAction, a.WALSeq, prev)
		}
		if a.WALSeq > through {
			return fmt.Errorf("%w: WAL seq %d past throughWALSeq %d", ErrInvalidAction, a.WALSeq, through)
		}
		prev = a.WALSeq
	}
	return nil
}

func (db *DB) commit(t *tx, actions []Action, through uint64) (err error) {
	if err := sqlitex.Execute(db.conn, "BEGIN IMMEDIATE", nil); err != nil {
		return err
	}
	defer func() {
		if err != nil && !db.conn.AutocommitEnabled() {
			if rerr := sqlitex.Execute(db.conn, "ROLLBACK", nil); rerr != nil {
				err = fmt.Errorf("%w (rollback: %v)", err, rerr)
			}
		}
	}()
	if err := db.insertActions(t, actions); err != nil {
		return err
	}
	if err := db.updateMeta(t, through); err != nil {
		return err
	}
	return sqlitex.Execute(db.conn, "COMMIT", nil)
}

func (db *DB) insertActions(t *tx, actions []Action) error {
	stmt, err := db.conn.Prepare(insertRow)
	if err != nil {
		return err
	}
	db.w.nbound = false
	if db.level == Detailed {
		for i := range actions {
			db.detailedRow(t, &actions[i])
			if err := db.insert(stmt, t); err != nil {
				return err
			}
		}
		return nil
	}
	if err := db.w.aggregate(actions); err != nil {
		return err
	}
	for i := range db.w.agg {
		db.standardRow(t, &db.w.agg[i])
		if err := db.insert(stmt, t); err != nil {
			return err
		}
	}
	return nil
}

// detailedRow fills db.w.row for a. Its time aliases db.w.time (no
// allocation per row): insert hashes and binds it (BindText copies) before
// the next row overwrites the buffer, and never keeps it in db.w.bound for
// comparison.
func (db *DB) detailedRow(t *tx, a *Action) {
	db.w.time = appendTime(db.w.time[:0], a.Time)
	db.w.row = row{
		colSeq: intValue(t.seq + 1), colBatch: intValue(t.batch),
		colTime: textValue(unsafe.String(unsafe.SliceData(db.w.time), len(db.w.time))), colAction: textValue(kindNames[a.Kind]),
		colOwner: textValue(a.Owner), colItem: textValue(a.Item), colLicenseID: textValue(a.LicenseID),
		colUnits: intValue(a.Units), colEvents: intValue(1),
		colSession: optText(a.Session), colUsername: optText(a.Username),
		colHostname: optText(a.Hostname), colIPAddress: optText(a.IPAddress),
	}
}

func (db *DB) standardRow(t *tx, g *aggRow) {
	null := value{tag: tagNull}
	db.w.row = row{
		colSeq: intValue(t.seq + 1), colBatch: intValue(t.batch),
		colTime: textValue(string(appendTime(db.w.time[:0], g.first))), colAction: textValue(kindNames[g.key.kind]),
		colOwner: textValue(g.key.owner), colItem: textValue(g.key.item), colLicenseID: textValue(g.key.license),
		colUnits: intValue(g.units), colEvents: intValue(g.events),
		colSession: null, colUsername: null, colHostname: null, colIPAddress: null,
	}
}

// insert signs db.w.row, chaining from t.head, and inserts it. A value
// equal to the one the previous row bound stays bound (SQLite keeps
// bindings across a reset): binding text costs a malloc, a copy and a free,
// and batch, events, item and often owner and action repeat row after row.
// The time is always bound afresh (see detailedRow).
func (db *DB) insert(stmt *sqlite.Stmt, t *tx) error {
	r, bound := &db.w.row, &db.w.bound
	m := db.sign.row(&t.head, r)
	for i := range r {
		if i == colTime || !db.w.nbound || r[i] != bound[i] {
			bindValue(stmt, i+1, r[i])
			bound[i] = r[i]
		}
	}
	db.w.nbound = true
	stmt.BindBytes(numCols+1, m[:])
	_, err := stmt.Step()
	if rerr := stmt.Reset(); err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	t.seq++
	t.head = m
	return nil
}

func bindValue(stmt *sqlite.Stmt, param int, v value) {
	switch v.tag {
	case tagInteger:
		stmt.BindInt64(param, v.i)
	case tagText:
		stmt.BindText(param, v.s)
	case tagNull:
		stmt.BindNull(param)
	default:
		panic("BUG: export: the writer writes integers, text and NULL only")
	}
}

// updateMeta writes the new head and watermark and re-signs meta.
func (db *DB) updateMeta(t *tx, through uint64) error {
	next := append(db.w.meta[:0], db.meta...)
	set := [...][2]string{
		{metaHeadSeq, strconv.FormatInt(t.seq, 10)},
		{metaHeadMAC, hex.EncodeToString(t.head[:])},
		{metaWALSeq, strconv.FormatUint(through, 10)},
		{metaMAC, ""},
	}
	for _, kv := range set[:3] {
		for i := range next {
			if next[i].key == kv[0] {
				next[i].val = textValue(kv[1])
			}
		}
	}
	sum := db.sign.meta(next)
	set[3][1] = hex.EncodeToString(sum[:])
	db.w.meta = next
	stmt, err := db.conn.Prepare("UPDATE meta SET value = ? WHERE key = ?")
	if err != nil {
		return err
	}
	for _, kv := range set {
		stmt.BindText(1, kv[1])
		stmt.BindText(2, kv[0])
		_, err := stmt.Step()
		if rerr := stmt.Reset(); err == nil {
			err = rerr
		}
		if err == nil && db.conn.Changes() != 1 {
			err = fmt.Errorf("meta row %s missing", kv[0])
		}
		if err != nil {
			return err
		}
	}
	return nil
}
