package export

import (
	"encoding/hex"
	"fmt"
	"slices"

	"zombiezen.com/go/sqlite/sqlitex"
)

// recordAgentVersion makes the agent_version meta row say v, re-signing meta in the same
// transaction, so the row names the build that last opened the file for writing. A file made
// before the row existed gets it here. Nothing is written when v is "" or already there.
func (db *DB) recordAgentVersion(v string) error {
	if v == "" {
		return nil
	}
	next := slices.Clone(db.meta)
	i := slices.IndexFunc(next, func(e metaEntry) bool { return e.key == metaAgentVersion })
	switch {
	case i < 0:
		next = append(next, metaEntry{key: metaAgentVersion, val: textValue(v)})
	case next[i].val == textValue(v):
		return nil
	default:
		next[i].val = textValue(v)
	}
	sum := db.sign.meta(next) // sorts next by key, as db.meta must be
	if err := db.setMetaTx(metaAgentVersion, v, hex.EncodeToString(sum[:])); err != nil {
		return fmt.Errorf("export: open %s: record %s: %w", db.path, metaAgentVersion, err)
	}
	db.meta = next
	return nil
}

// setMetaTx writes one meta row and the new meta_mac in one transaction.
func (db *DB) setMetaTx(key, val, metaMACHex string) (err error) {
	end, err := sqlitex.ImmediateTransaction(db.conn)
	if err != nil {
		return err
	}
	defer end(&err)
	if err := sqlitex.Execute(db.conn, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
		&sqlitex.ExecOptions{Args: []any{key, val}}); err != nil {
		return err
	}
	return sqlitex.Execute(db.conn, "UPDATE meta SET value = ? WHERE key = ?", &sqlitex.ExecOptions{Args: []any{metaMACHex, metaMAC}})
}
