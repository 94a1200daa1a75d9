package export

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// Options configure Open.
type Options struct {
	Path    string
	Key     []byte // KeySize bytes
	Level   Level
	AgentID string           // random id made once per agent data directory
	Now     func() time.Time // nil means time.Now; stamps `created`
	// AgentVersion names the agent's build (version.Info's String) in the agent_version
	// meta row, signed with the rest of meta; each Open that names another build rewrites
	// it. "" leaves the row as it is, or absent.
	AgentVersion string
	// Rotate cuts the file into segments at UTC period boundaries (USAGE_ROTATE); Now
	// then also decides the live segment's period when the file becomes one.
	Rotate Rotation
}

func (o *Options) validate() error {
	switch {
	case o.Path == "":
		return errors.New("export: open: empty path")
	case len(o.Key) != KeySize:
		return fmt.Errorf("export: open %s: key has %d bytes, want %d", o.Path, len(o.Key), KeySize)
	case o.Level != Standard && o.Level != Detailed:
		return fmt.Errorf("export: open %s: %v", o.Path, o.Level)
	case o.AgentID == "":
		return fmt.Errorf("export: open %s: empty agent id", o.Path)
	}
	return nil
}

// busyTimeout bounds how long a write waits for a lock held by someone
// else (an operator's sqlite3 shell), so the export fails visibly in
// /healthz instead of hanging.
const busyTimeout = 5 * time.Second

// DB is an open usage database. Its methods are safe for concurrent use
// (Write from the export goroutine, Writable from /healthz).
type DB struct {
	mu      sync.Mutex
	conn    *sqlite.Conn
	path    string
	file    os.FileInfo // as opened, so Writable notices a replaced file
	level   Level
	agentID string
	sign    *signer
	meta    []metaEntry // every meta row but meta_mac, sorted by key
	head    mac         // MAC of the last row (the chain start when empty)
	batch   int64       // batch number of the last row
	last    time.Time   // time of the last row: no row is written earlier
	lastErr error       // of the last Write; reported by Writable
	closed  bool
	opts    Options // as opened: a rotation opens the next segment with them
	rotate  Rotation
	seg     segInfo // of the live file; segment 0 when it is not one
	// broken is why a rotation that had closed the live file could not open the next one;
	// every later call fails with it, and the next Open finishes the rotation.
	broken error

	// consumed is each license's license_consumed as of its last row: what
	// the next row of the license adds to. Written only by a committed
	// write, under mu; see loadConsumed for how Open fills it.
	consumed map[string]int64

	headSeq atomic.Int64
	walSeq  atomic.Uint64

	w writeScratch
}

// Open creates the database at opts.Path if it is missing, or opens it and
// checks that it belongs to opts (else an error wrapping ErrMismatch naming
// the file and field) and that its meta table and head row are intact
// (else a *VerifyError).
func Open(opts Options) (*DB, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := FinishRotation(opts.Path); err != nil {
		return nil, err
	}
	conn, err := sqlite.OpenConn(opts.Path, sqlite.OpenReadWrite|sqlite.OpenCreate)
	if err != nil {
		return nil, fmt.Errorf("export: open %s: %w", opts.Path, err)
	}
	db := &DB{conn: conn, path: opts.Path, level: opts.Level, agentID: opts.AgentID, sign: newSigner(opts.Key),
		opts: opts, rotate: opts.Rotate}
	err = db.init(&opts)
	if err == nil {
		err = db.prepareSegment(db.now())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) now() time.Time {
	if db.opts.Now != nil {
		return db.opts.Now()
	}
	return time.Now()
}

func (db *DB) init(opts *Options) error {
	db.conn.SetBusyTimeout(busyTimeout)
	db.seg = segInfo{}
	if err := db.pragmas(); err != nil {
		return fmt.Errorf("export: open %s: %w", db.path, err)
	}
	objs, err := readSchema(db.conn)
	if err != nil {
		return fmt.Errorf("export: open %s: %w", db.path, err)
	}
	if len(objs) == 0 {
		err = db.create(opts)
	} else {
		err = db.load(objs, KeyID(opts.Key))
	}
	if err == nil {
		err = db.recordAgentVersion(opts.AgentVersion)
	}
	if err != nil {
		return err
	}
	if db.file, err = os.Stat(db.path); err != nil {
		return fmt.Errorf("export: open %s: %w", db.path, err)
	}
	return nil
}

// pragmas sets the write mode: a WAL journal, and synchronous=FULL so a
// committed write survives a power cut before the agent's own WAL lets go
// of its records.
func (db *DB) pragmas() error {
	var mode string
	err := sqlitex.ExecuteTransient(db.conn, "PRAGMA journal_mode=WAL", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { mode = stmt.ColumnText(0); return nil },
	})
	if err == nil && mode != "wal" {
		err = fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	if err == nil {
		err = sqlitex.ExecuteTransient(db.conn, "PRAGMA synchronous=FULL", nil)
	}
	return err
}

// ExportedSeq is the highest WAL sequence number written (meta wal_seq).
func (db *DB) ExportedSeq() uint64 { return db.walSeq.Load() }

// HeadSeq is the seq of the last row, 0 when there is none.
func (db *DB) HeadSeq() int64 { return db.headSeq.Load() }

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

// Writable returns nil if the database can take a write now: the last
// write succeeded, the file is still the one opened, and its write lock can
// be taken.
func (db *DB) Writable() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	if db.broken != nil {
		return db.broken
	}
	if db.lastErr != nil {
		return fmt.Errorf("export: last write failed: %w", db.lastErr)
	}
	if fi, err := os.Stat(db.path); err != nil || !os.SameFile(fi, db.file) {
		return fmt.Errorf("export: %s was removed or replaced", db.path)
	}
	if err := sqlitex.Execute(db.conn, "BEGIN IMMEDIATE", nil); err != nil {
		return fmt.Errorf("export: %s: %w", db.path, err)
	}
	return sqlitex.Execute(db.conn, "ROLLBACK", nil)
}

// Close checkpoints the SQLite WAL into the file and switches the journal
// back to DELETE, so the file the customer sends is one self-contained file
// that the stock sqlite3 shell opens read-only.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.closed = true
	if db.broken != nil {
		return db.broken
	}
	err := db.checkpoint()
	if cerr := db.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: close %s: %w", db.path, err)
	}
	return nil
}

func (db *DB) checkpoint() error {
	var busy bool
	err := sqlitex.ExecuteTransient(db.conn, "PRAGMA wal_checkpoint(TRUNCATE)", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { busy = stmt.ColumnInt(0) != 0; return nil },
	})
	if err == nil && busy {
		err = errors.New("checkpoint blocked by another reader")
	}
	if err != nil {
		return err
	}
	var mode string
	err = sqlitex.ExecuteTransient(db.conn, "PRAGMA journal_mode=DELETE", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { mode = stmt.ColumnText(0); return nil },
	})
	if err == nil && mode != "delete" {
		err = fmt.Errorf("journal_mode is %q, want delete", mode)
	}
	return err
}
