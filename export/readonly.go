package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

const sqliteMagic = "SQLite format 3\x00"

// openReadOnly opens path for verification so that nothing on disk changes:
// read-only, query_only, and immutable when the file is in WAL mode with no
// WAL beside it (a copy taken from a running agent), where a plain read-only
// open would create -wal and -shm files.
func openReadOnly(path string) (*sqlite.Conn, error) {
	hdr, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", path, err)
	}
	query := "mode=ro"
	if hdr[18] == 2 && !exists(abs+"-wal") {
		query += "&immutable=1"
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: query}
	conn, err := sqlite.OpenConn(u.String(), sqlite.OpenReadOnly|sqlite.OpenURI)
	if err != nil {
		return nil, classify(path, err)
	}
	conn.SetBusyTimeout(busyTimeout)
	for _, p := range []string{"PRAGMA query_only=ON", "PRAGMA cell_size_check=ON"} {
		if err := sqlitex.ExecuteTransient(conn, p, nil); err != nil {
			conn.Close()
			return nil, classify(path, err)
		}
	}
	return conn, nil
}

// readHeader returns the 100-byte SQLite header; a file without one is not
// a usage database.
func readHeader(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("export: %s: is a directory", path)
	}
	hdr := make([]byte, 100)
	_, err = io.ReadFull(f, hdr)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || err == nil && !bytes.HasPrefix(hdr, []byte(sqliteMagic)) {
		return nil, fmt.Errorf("%w: %s: not an SQLite file", ErrNotUsageDB, path)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", path, err)
	}
	return hdr, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// classify sorts an SQLite error met while reading a file: "not a database"
// means the file is not a usage database (exit 2); corruption in a file with
// a valid SQLite header is damage or tampering (a *VerifyError, exit 1);
// anything else is an I/O problem (exit 2).
func classify(path string, err error) error {
	switch sqlite.ErrCode(err).ToPrimary() {
	case sqlite.ResultNotADB:
		return fmt.Errorf("%w: %s: %s", ErrNotUsageDB, path, sqliteMessage(err))
	case sqlite.ResultCorrupt, sqlite.ResultFormat:
		return &VerifyError{Path: path, Reason: "database corrupt: " + sqliteMessage(err)}
	}
	return fmt.Errorf("export: %s: %w", path, err)
}

// sqliteMessage is SQLite's own message, without the wrapping that names
// the statement.
func sqliteMessage(err error) string {
	s, m := err.Error(), sqlite.ErrCode(err).Message()
	if i := strings.Index(s, m); i >= 0 {
		return s[i:]
	}
	return m
}
