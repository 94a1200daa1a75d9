package export

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// A rotation, step by step. Each step leaves on disk either the old layout (the live file is
// the old segment; a stray .next is deleted at Open) or the new one (Open renames a finished
// .next to the live name), so a crash at any point loses no row and doubles none:
//
//  1. the next segment is written whole at <live>.next: meta, and a carry row per license
//     that has consumed anything, chained from the live file's head; synced, closed;
//  2. the live file is sealed: its SQLite WAL checkpointed into it, journal back to DELETE,
//     closed (from here it is never written again);
//  3. it is renamed to usage-<agent8>-<period>.db, and the directory synced;
//  4. <live>.next is renamed to the live name, the directory synced, and opened.
//
// RotateStep names the points between the steps, for crash tests (SetRotateHook).
type RotateStep string

const (
	StepNextWritten RotateStep = "next-written" // after 1
	StepSealed      RotateStep = "sealed"       // after 2
	StepRenamed     RotateStep = "renamed"      // after 3
	StepNextLive    RotateStep = "next-live"    // after 4's rename, before the open
)

var rotateHook func(RotateStep)

// SetRotateHook has f called at each step of every rotation; a crash test kills the process
// there. Not safe to call while a DB is open.
func SetRotateHook(f func(RotateStep)) { rotateHook = f }

func reached(s RotateStep) {
	if rotateHook != nil {
		rotateHook(s)
	}
}

// FinishRotation completes or undoes a rotation a crash cut short, before the live file is
// opened (Open calls it; an agent that checks the live file is there calls it first): a .next
// beside a missing live file was complete (step 4 had begun), one beside the live file may
// not be.
func FinishRotation(path string) error {
	next := path + nextSuffix
	switch {
	case !exists(next):
		return nil
	case exists(path):
		return removeSQLite(next)
	}
	if err := os.Rename(next, path); err != nil {
		return fmt.Errorf("export: finish rotation of %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// removeSQLite removes a database file and any journal SQLite may have left beside it.
func removeSQLite(path string) error {
	for _, p := range [...]string{path, path + "-journal", path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("export: remove %s: %w", p, err)
		}
	}
	return nil
}

// prepareSegment makes the live file's segment meta fit the rotation: a file written without
// rotation becomes segment 1 of its chain; rotation off makes the live segment open-ended, so
// rows past its period stay valid; rotation on gives an open-ended one a period.
func (db *DB) prepareSegment(now time.Time) error {
	if err := db.segmentMeta(now); err != nil {
		return fmt.Errorf("export: open %s: segment meta: %w", db.path, err)
	}
	return nil
}

func (db *DB) segmentMeta(now time.Time) error {
	at := now
	if db.last.After(at) {
		at = db.last
	}
	switch {
	case db.rotate != RotateOff && db.seg.segment == 0:
		start := db.sign.start(db.agentID)
		return db.setMeta(metaSchemaVersion, segmentSchemaVersion, metaSegment, "1", metaPrevHeadSeq, "0",
			metaPrevHeadMAC, hex.EncodeToString(start[:]), metaPeriod, db.rotate.period(at))
	case db.rotate == RotateOff && db.seg.period != "":
		return db.setMeta(metaPeriod, "")
	case db.rotate != RotateOff && db.seg.segment > 0 && db.seg.period == "":
		return db.setMeta(metaPeriod, db.rotate.period(at))
	}
	return nil
}

// setMeta sets meta rows (key, value, ...) and re-signs meta in one transaction; the DB takes
// the new meta only once it is committed.
func (db *DB) setMeta(kv ...string) error {
	next := slices.Clone(db.meta)
	for i := 0; i+1 < len(kv); i += 2 {
		j := slices.IndexFunc(next, func(e metaEntry) bool { return e.key == kv[i] })
		if j < 0 {
			next = append(next, metaEntry{key: kv[i]})
			j = len(next) - 1
		}
		next[j].val = textValue(kv[i+1])
	}
	sum := db.sign.meta(next) // sorts next by key, as db.meta must be
	if err := db.setMetaTx(append(kv, metaMAC, hex.EncodeToString(sum[:]))); err != nil {
		return err
	}
	db.meta = next
	db.seg.period, _ = db.get(metaPeriod)
	db.seg.start, db.seg.end, _ = periodBounds(db.seg.period)
	if s, ok := db.get(metaSegment); ok {
		parseDecimal(s, &db.seg.segment)
	}
	return nil
}

// setMetaTx writes meta rows (key, value, ...) in one transaction.
func (db *DB) setMetaTx(kv []string) (err error) {
	end, err := sqlitex.ImmediateTransaction(db.conn)
	if err != nil {
		return err
	}
	defer end(&err)
	for i := 0; i+1 < len(kv); i += 2 {
		if err := sqlitex.Execute(db.conn, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
			&sqlitex.ExecOptions{Args: []any{kv[i], kv[i+1]}}); err != nil {
			return fmt.Errorf("meta %s: %w", kv[i], err)
		}
	}
	return nil
}

func (db *DB) get(key string) (string, bool) {
	m := metaInfo{entries: db.meta}
	return m.get(key)
}

// splitAt returns the index of the first action past the live segment's period, moved back to
// the start of its WAL record (a record's actions stay in one file, under one watermark), and
// that action's time, which decides the next segment's period; or len(actions) when every
// action belongs to the live segment.
func (db *DB) splitAt(actions []Action) (int, time.Time) {
	if db.rotate == RotateOff || db.seg.end.IsZero() {
		return len(actions), time.Time{}
	}
	k := slices.IndexFunc(actions, func(a Action) bool { return !a.Time.Before(db.seg.end) })
	if k < 0 {
		return len(actions), time.Time{}
	}
	at := actions[k].Time
	for k > 0 && actions[k-1].WALSeq == actions[k].WALSeq {
		k--
	}
	return k, at
}

// due reports whether the live segment's period is over at t.
func (db *DB) due(t time.Time) bool {
	return db.rotate != RotateOff && !db.seg.end.IsZero() && !t.Before(db.seg.end)
}

// PeriodOver reports whether the live segment's period is over at t, so that Seal would seal
// it: the caller flushes what it holds first.
func (db *DB) PeriodOver(t time.Time) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return !db.closed && db.due(t)
}

// Seal seals the live segment if its period is over at now, and starts the next one, whose
// period holds now: an idle agent still closes the month, so that the customer can send it.
// Flush what the Batcher holds first: those actions belong to the period being sealed.
func (db *DB) Seal(now time.Time) (bool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return false, ErrClosed
	}
	if !db.due(now) {
		return false, nil
	}
	err := db.rotateTo(now)
	db.lastErr = err
	return err == nil, err
}

// rotateTo seals the live segment and continues the chain in a new one whose period holds at.
func (db *DB) rotateTo(at time.Time) error {
	if db.broken != nil {
		return db.broken
	}
	period := db.rotate.period(at)
	start, _, _ := periodBounds(period)
	sealed := sealedPath(db.path, db.agentID, db.seg.period)
	if exists(sealed) {
		return fmt.Errorf("export: rotate %s: %s exists, and a sealed segment is never overwritten", db.path, sealed)
	}
	carries, err := db.carries()
	if err != nil {
		return fmt.Errorf("export: rotate %s: %w", db.path, err)
	}
	next := db.path + nextSuffix
	if err := removeSQLite(next); err != nil {
		return err
	}
	if err := db.writeNext(next, period, start, carries); err != nil {
		return fmt.Errorf("export: rotate %s: next segment: %w", db.path, err)
	}
	reached(StepNextWritten)
	if err := db.checkpoint(); err != nil {
		return fmt.Errorf("export: rotate %s: seal: %w", db.path, err)
	}
	// From here the DB has no connection until the new segment is open: a failure leaves it
	// broken (Writable says why) and the next Open finishes the rotation.
	db.broken = db.conn.Close()
	db.conn = nil
	if db.broken == nil {
		reached(StepSealed)
		db.broken = db.swap(sealed, next)
	}
	if db.broken == nil {
		db.broken = db.reopen()
	}
	if db.broken != nil {
		db.broken = fmt.Errorf("export: rotate %s: %w", db.path, db.broken)
	}
	return db.broken
}

// swap renames the sealed live file out of the way and the next segment in.
func (db *DB) swap(sealed, next string) error {
	dir := filepath.Dir(db.path)
	if err := os.Rename(db.path, sealed); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	reached(StepRenamed)
	if err := os.Rename(next, db.path); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	reached(StepNextLive)
	return nil
}

func (db *DB) reopen() error {
	conn, err := sqlite.OpenConn(db.path, sqlite.OpenReadWrite)
	if err != nil {
		return err
	}
	db.conn = conn
	if err := db.init(&db.opts); err != nil {
		db.conn = nil
		conn.Close()
		return err
	}
	return nil
}

// carry is a license's counter as the next segment opens.
type carry struct {
	license, owner, item string
	consumed             int64
}

// carries returns, sorted by license, every license that has consumed anything, with the
// owner and item of its last row.
func (db *DB) carries() ([]carry, error) {
	stmt, err := db.conn.Prepare("SELECT owner, item FROM usage WHERE license_id = ? ORDER BY seq DESC LIMIT 1")
	if err != nil {
		return nil, err
	}
	var out []carry
	for id, n := range db.consumed {
		if n == 0 {
			continue
		}
		stmt.BindText(1, id)
		ok, err := stmt.Step()
		c := carry{license: id, consumed: n, owner: stmt.ColumnText(0), item: stmt.ColumnText(1)}
		if rerr := stmt.Reset(); err == nil {
			err = rerr
		}
		if err == nil && !ok {
			err = fmt.Errorf("license %s has no row", id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b carry) int { return cmp.Compare(a.license, b.license) })
	return out, nil
}

// writeNext writes the next segment, whole, at path: its meta and carry rows in one
// transaction with synchronous=FULL, in the DELETE journal (so the finished file is one file,
// safe to rename), and the directory synced.
func (db *DB) writeNext(path, period string, start time.Time, carries []carry) (err error) {
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite|sqlite.OpenCreate)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := conn.Close(); err == nil {
			err = cerr
		}
	}()
	if err := sqlitex.ExecuteTransient(conn, "PRAGMA synchronous=FULL", nil); err != nil {
		return err
	}
	end, err := sqlitex.ImmediateTransaction(conn)
	if err != nil {
		return err
	}
	defer end(&err)
	if err := sqlitex.ExecuteScript(conn, createMeta+";\n"+createUsage+";\n"+createLicenseIndex+";", nil); err != nil {
		return err
	}
	t := tx{seq: db.headSeq.Load(), head: db.head, batch: 1, last: start}
	if err := db.insertCarries(conn, &t, carries); err != nil {
		return err
	}
	prevMAC := hex.EncodeToString(db.head[:])
	meta := metaText(append(db.baseMeta(),
		metaSchemaVersion, segmentSchemaVersion,
		metaHeadSeq, strconv.FormatInt(t.seq, 10),
		metaHeadMAC, hex.EncodeToString(t.head[:]),
		metaWALSeq, strconv.FormatUint(db.walSeq.Load(), 10),
		metaSegment, strconv.FormatInt(db.seg.segment+1, 10),
		metaPrevHeadSeq, strconv.FormatInt(db.headSeq.Load(), 10),
		metaPrevHeadMAC, prevMAC,
		metaPeriod, period)...)
	sum := db.sign.meta(meta)
	for _, e := range append(meta, metaEntry{key: metaMAC, val: textValue(hex.EncodeToString(sum[:]))}) {
		if err := sqlitex.Execute(conn, "INSERT INTO meta(key, value) VALUES (?, ?)",
			&sqlitex.ExecOptions{Args: []any{e.key, e.val.s}}); err != nil {
			return err
		}
	}
	return nil
}

// insertCarries writes one carry row per license, chained from t.
func (db *DB) insertCarries(conn *sqlite.Conn, t *tx, carries []carry) error {
	if len(carries) == 0 {
		return nil
	}
	stmt, err := conn.Prepare(insertRow)
	if err != nil {
		return err
	}
	db.w.nbound = false
	defer func() { db.w.nbound = false }() // the live file's statement holds other bindings
	when := string(appendTime(nil, t.last))
	for _, c := range carries {
		db.w.row = row{
			colSeq: intValue(t.seq + 1), colBatch: intValue(t.batch),
			colTime: textValue(when), colAction: textValue(kindNames[Carry]),
			colOwner: textValue(c.owner), colItem: textValue(c.item), colLicenseID: textValue(c.license),
			colUnits: intValue(0), colEvents: intValue(0), colLicenseConsumed: intValue(c.consumed),
		}
		db.nullUserData()
		db.vendorColumns(nil)
		if err := db.insert(stmt, t); err != nil {
			return err
		}
	}
	return nil
}

// baseMeta is the meta every file of this DB's agent, key and level holds, as key, value
// pairs: the fields Open checks, when the file was made, and the build that made it.
func (db *DB) baseMeta() []string {
	kv := []string{
		metaAgentID, db.agentID,
		metaKeyID, KeyID(db.opts.Key),
		metaLevel, db.level.String(),
		metaCreated, db.now().UTC().Format(time.RFC3339),
	}
	if v := db.opts.AgentVersion; v != "" {
		kv = append(kv, metaAgentVersion, v)
	}
	return kv
}
