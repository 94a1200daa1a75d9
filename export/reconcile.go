package export

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"zombiezen.com/go/sqlite"
)

// maxConsumed bounds license_consumed: 2^53 - 1 keeps the counters exact in
// every JSON reader and spreadsheet the vendor may load a report into.
const maxConsumed = 1<<53 - 1

// Balance is one license's all-time consumed units as the agent's own state
// has them at the usage database's watermark.
type Balance struct {
	LicenseID, Owner, Item string
	Consumed               int64
}

// Consumed returns license's license_consumed as the chain holds it: its
// last row's, or 0 when it has no row.
func (db *DB) Consumed(license string) int64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.consumed[license]
}

// Reconcile makes the chain agree with the agent's state. For each balance
// above what the chain holds it writes one row of action unexported, the
// difference as its units and 0 events (how many actions made them is not
// known), at time at or the last row's time if that is later; all in one
// transaction that leaves the watermark where it is. Units consumed while
// the database was off, or whose WAL records were gone before they were
// exported, are billed this way instead of vanishing. A balance below what
// the chain holds means the file holds consumption the agent never had:
// Reconcile writes nothing and returns an error wrapping ErrAhead. The
// Batcher must hold nothing when Reconcile runs.
func (db *DB) Reconcile(bals []Balance, at time.Time) (rows int, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return 0, ErrClosed
	}
	missing, err := db.unexported(bals, at)
	if err != nil || len(missing) == 0 {
		return 0, err
	}
	if db.due(at) {
		if err := db.rotateTo(at); err != nil {
			db.lastErr = err
			return 0, err
		}
	}
	through := db.walSeq.Load()
	t := db.begin(true)
	err = db.commit(&t, through, func() error { return db.insertUnexported(&t, missing) })
	db.lastErr = err
	if err != nil {
		return 0, fmt.Errorf("export: reconcile %s: %w", db.path, err)
	}
	return db.committed(&t, through), nil
}

// unexported returns the rows Reconcile must write, sorted by license.
func (db *DB) unexported(bals []Balance, at time.Time) ([]Action, error) {
	var out []Action
	for _, b := range bals {
		have := db.consumed[b.LicenseID]
		switch {
		case b.Consumed < have:
			return nil, fmt.Errorf("%w: %s: license %s has %d units consumed in the usage database but %d in the agent's state",
				ErrAhead, db.path, b.LicenseID, have, b.Consumed)
		case b.Consumed > have:
			out = append(out, Action{Time: at, Kind: Unexported, Owner: b.Owner, Item: b.Item,
				LicenseID: b.LicenseID, Units: b.Consumed - have})
		}
	}
	slices.SortFunc(out, func(a, b Action) int { return cmp.Compare(a.LicenseID, b.LicenseID) })
	return out, nil
}

func (db *DB) insertUnexported(t *tx, missing []Action) error {
	stmt, err := db.conn.Prepare(insertRow)
	if err != nil {
		return err
	}
	db.w.nbound = false
	for i := range missing {
		a := &missing[i]
		if err := checkRowTime(a.Time); err != nil {
			return err
		}
		consumed, err := db.consumedAfter(a.LicenseID, Unexported, a.Units)
		if err != nil {
			return err
		}
		db.w.row = row{
			colSeq: intValue(t.seq + 1), colBatch: intValue(t.batch),
			colTime: textValue(string(appendTime(nil, t.rowTime(a.Time)))), colAction: textValue(kindNames[Unexported]),
			colOwner: textValue(a.Owner), colItem: textValue(a.Item), colLicenseID: textValue(a.LicenseID),
			colUnits: intValue(a.Units), colEvents: intValue(0), colLicenseConsumed: intValue(consumed),
		}
		db.nullUserData()
		db.vendorColumns(nil)
		if err := db.insert(stmt, t); err != nil {
			return err
		}
	}
	return nil
}

// loadConsumed fills db.consumed from each license's last row. It steps
// through the license index one license at a time (two index lookups per
// license, not a pass over the rows), so start-up grows with the number of
// licenses, not with the file.
func (db *DB) loadConsumed() error {
	db.consumed = make(map[string]int64)
	next, err := db.conn.Prepare("SELECT min(license_id) FROM usage WHERE license_id > ?")
	if err != nil {
		return err
	}
	last, err := db.conn.Prepare("SELECT license_consumed FROM usage WHERE license_id = ? ORDER BY seq DESC LIMIT 1")
	if err != nil {
		return err
	}
	id := ""
	for {
		next.BindText(1, id)
		ok, err := next.Step()
		if err == nil && ok && next.ColumnType(0) == sqlite.TypeNull {
			ok = false
		}
		if ok {
			id = next.ColumnText(0)
		}
		if rerr := next.Reset(); err == nil {
			err = rerr
		}
		if err != nil || !ok {
			return err
		}
		if err := db.loadLast(last, id); err != nil {
			return err
		}
	}
}

func (db *DB) loadLast(stmt *sqlite.Stmt, id string) error {
	stmt.BindText(1, id)
	_, err := stmt.Step()
	db.consumed[id] = stmt.ColumnInt64(0)
	if rerr := stmt.Reset(); err == nil {
		err = rerr
	}
	return err
}

// checkRowTime rejects a time Verify would reject.
func checkRowTime(t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%w: zero time", ErrInvalidAction)
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: year %d outside RFC 3339", ErrInvalidAction, y)
	}
	return nil
}
