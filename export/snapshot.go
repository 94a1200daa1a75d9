package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// ErrExists means Snapshot was asked to write over an existing file.
var ErrExists = errors.New("export: destination exists")

// Snapshot copies the usage database at src to dst, a new file, as one consistent state: what
// the running agent had committed when the copy began, meta and rows together. Copying the
// file itself while the agent runs gives a stale file that still verifies (committed rows wait
// in the -wal file beside it), and a vendor would bill it short without a word. The copy is a
// self-contained file (DELETE journal, no -wal), synced to disk, and is written under a
// temporary name and linked into place, so dst is either absent or complete, and an existing
// dst is never replaced (ErrExists).
func Snapshot(src, dst string) error {
	if exists(dst) {
		return fmt.Errorf("%w: %s", ErrExists, dst)
	}
	from, err := openReadOnly(src)
	if err != nil {
		return err
	}
	defer from.Close()
	objs, err := readSchema(from)
	if err != nil {
		return classify(src, err)
	}
	if !hasTables(objs) {
		return fmt.Errorf("%w: %s: no meta or usage table", ErrNotUsageDB, src)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("export: snapshot: %w", err)
	}
	tmp.Close()
	defer func() { // with what SQLite left beside a copy that failed part way
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp.Name() + suffix)
		}
	}()
	if err := copyDB(from, tmp.Name()); err != nil {
		return fmt.Errorf("export: snapshot %s: %w", src, err)
	}
	if err := os.Link(tmp.Name(), dst); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, dst)
		}
		return fmt.Errorf("export: snapshot: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

// copyDB copies from's main database into the file at path in one backup step (one read
// transaction, hence one state), switches the copy to the DELETE journal and syncs it.
func copyDB(from *sqlite.Conn, path string) (err error) {
	to, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := to.Close(); err == nil {
			err = cerr
		}
	}()
	b, err := sqlite.NewBackup(to, "main", from, "main")
	if err != nil {
		return err
	}
	_, err = b.Step(-1)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// The copy has the source's header, WAL mode included.
	for _, p := range []string{"PRAGMA journal_mode=DELETE", "PRAGMA synchronous=FULL"} {
		if err := sqlitex.ExecuteTransient(to, p, nil); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
