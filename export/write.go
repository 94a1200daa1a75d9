package export

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// writeScratch is reused by every Write so the export path allocates little.
type writeScratch struct {
	row      row
	bound    row  // values bound to the insert statement's parameters
	nbound   bool // whether bound holds anything (Prepare clears the bindings)
	time     []byte
	meta     []metaEntry
	groups   map[groupKey]int
	agg      []aggRow
	consumed map[string]int64 // the write's license_consumed, before it is the DB's
}

// tx is the chain state a write builds; it becomes the DB's only after
// COMMIT, so a failed write leaves the DB as it was.
type tx struct {
	seq   int64
	head  mac
	batch int64
	last  time.Time
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
// and UTC day at Standard level, where each provision keeps its own. With
// rotation on, the first action past the live segment's period seals it and
// the rest go to the next segment (see rotate.go): the rows before it are
// committed either way, so a Write that fails there can be sent again.
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
	if db.broken != nil {
		return 0, db.broken
	}
	rows := 0
	for {
		k, at := db.splitAt(actions)
		if k == len(actions) {
			break
		}
		if k > 0 {
			n, err := db.writeRun(actions[:k], actions[k-1].WALSeq)
			rows += n
			if err != nil {
				return rows, err
			}
		}
		if err := db.rotateTo(at); err != nil {
			return rows, err
		}
		actions = actions[k:]
	}
	n, err := db.writeRun(actions, through)
	return rows + n, err
}

// writeRun writes actions that all belong to the live segment, and the watermark, in one
// transaction.
func (db *DB) writeRun(actions []Action, through uint64) (int, error) {
	t := db.begin(len(actions) > 0)
	if err := db.commit(&t, through, func() error { return db.insertActions(&t, actions) }); err != nil {
		return 0, fmt.Errorf("export: write %s: %w", db.path, err)
	}
	return db.committed(&t, through), nil
}

// begin starts the chain state of a write; rows says whether it writes any
// (a write of the watermark alone starts no batch).
func (db *DB) begin(rows bool) tx {
	t := tx{seq: db.headSeq.Load(), head: db.head, batch: db.batch, last: db.last}
	if rows {
		t.batch++
	}
	if db.w.consumed == nil {
		db.w.consumed = make(map[string]int64)
	}
	clear(db.w.consumed)
	return t
}

// committed makes a committed write's chain state the DB's and returns the
// rows it wrote.
func (db *DB) committed(t *tx, through uint64) int {
	rows := int(t.seq - db.headSeq.Load())
	db.head, db.batch, db.last = t.head, t.batch, t.last
	for id, n := range db.w.consumed {
		db.consumed[id] = n
	}
	db.meta, db.w.meta = db.w.meta, db.meta
	db.headSeq.Store(t.seq)
	db.walSeq.Store(through)
	return rows
}

// consumedAfter returns the license_consumed of a row of kind adding units
// to license: its previous row's, plus units if the kind consumes. It is
// called once per row, in row order, and remembers the result for the next.
func (db *DB) consumedAfter(license string, kind ActionKind, units int64) (int64, error) {
	n, ok := db.w.consumed[license]
	if !ok {
		n = db.consumed[license]
	}
	if kind.billable() {
		if units > maxConsumed-n {
			return 0, fmt.Errorf("%w: license %s: license_consumed would pass %d", ErrInvalidAction, license, int64(maxConsumed))
		}
		n += units
	}
	db.w.consumed[license] = n
	return n, nil
}

// rowTime is when a row says it happened: never before the row ahead of it,
// so that times never decrease along the chain (Verify checks it). Actions
// arrive in WAL order, and concurrent decisions can reach the WAL in
// another order than they read the clock; such a row is stamped with its
// predecessor's time, a difference of microseconds.
func (t *tx) rowTime(at time.Time) time.Time {
	if at.Before(t.last) {
		return t.last
	}
	t.last = at
	return at
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

// commit runs insert and the meta update in one transaction.
func (db *DB) commit(t *tx, through uint64, insert func() error) (err error) {
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
	if err := insert(); err != nil {
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
			if err := db.detailedRow(t, &actions[i]); err != nil {
				return err
			}
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
		if err := db.standardRow(t, &db.w.agg[i]); err != nil {
			return err
		}
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
func (db *DB) detailedRow(t *tx, a *Action) error {
	consumed, err := db.consumedAfter(a.LicenseID, a.Kind, a.Units)
	if err != nil {
		return err
	}
	db.w.time = appendTime(db.w.time[:0], t.rowTime(a.Time))
	db.w.row = row{
		colSeq: intValue(t.seq + 1), colBatch: intValue(t.batch),
		colTime: textValue(unsafe.String(unsafe.SliceData(db.w.time), len(db.w.time))), colAction: textValue(kindNames[a.Kind]),
		colOwner: textValue(a.Owner), colItem: textValue(a.Item), colLicenseID: textValue(a.LicenseID),
		colUnits: intValue(a.Units), colEvents: intValue(1), colLicenseConsumed: intValue(consumed),
		colSession: optText(a.Session), colUsername: optText(a.Username),
		colHostname: optText(a.Hostname), colIPAddress: optText(a.IPAddress),
	}
	db.vendorColumns(a)
	return nil
}

// standardRow fills db.w.row for one aggregated group: its license_consumed
// is the previous row's plus the group's units, so that the rule Verify
// checks holds row by row whatever order the groups come in, and the last
// row of a license in the batch ends where its actions ended.
func (db *DB) standardRow(t *tx, g *aggRow) error {
	consumed, err := db.consumedAfter(g.key.license, g.key.kind, g.units)
	if err != nil {
		return err
	}
	db.w.row = row{
		colSeq: intValue(t.seq + 1), colBatch: intValue(t.batch),
		colTime: textValue(string(appendTime(db.w.time[:0], t.rowTime(g.first)))), colAction: textValue(kindNames[g.key.kind]),
		colOwner: textValue(g.key.owner), colItem: textValue(g.key.item), colLicenseID: textValue(g.key.license),
		colUnits: intValue(g.units), colEvents: intValue(g.events), colLicenseConsumed: intValue(consumed),
	}
	db.nullUserData()
	db.vendorColumns(g.prov)
	return nil
}

// nullUserData sets the user columns of db.w.row to NULL: a Standard row
// and an unexported row hold no user data.
func (db *DB) nullUserData() {
	for col := colSession; col <= colIPAddress; col++ {
		db.w.row[col] = value{tag: tagNull}
	}
}

// vendorColumns sets the provisioning evidence of db.w.row from a provision's action, or to
// NULL for any other row (a nil a).
func (db *DB) vendorColumns(a *Action) {
	var ext, sig, req string
	if a != nil {
		ext, sig, req = a.ExternalID, a.VendorSignature, a.VendorRequest
	}
	db.w.row[colExternalID], db.w.row[colVendorSignature], db.w.row[colVendorRequest] = optText(ext), optText(sig), optText(req)
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
