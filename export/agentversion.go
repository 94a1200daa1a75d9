package export

import "fmt"

// recordAgentVersion makes the agent_version meta row say v, re-signing meta in the same
// transaction, so the row names the build that last opened the file for writing. A file made
// before the row existed gets it here. Nothing is written when v is "" or already there.
func (db *DB) recordAgentVersion(v string) error {
	if cur, ok := db.get(metaAgentVersion); v == "" || ok && cur == v {
		return nil
	}
	if err := db.setMeta(metaAgentVersion, v); err != nil {
		return fmt.Errorf("export: open %s: record %s: %w", db.path, metaAgentVersion, err)
	}
	return nil
}
