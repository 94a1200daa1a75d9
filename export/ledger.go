package export

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Ledger is the vendor's memory of what it accepted: per agent_id, the head
// of the last accepted export. An export is accepted only if its chain
// passes through that head, which catches what the MAC chain alone cannot:
// an old file sent again, and a data directory restored from backup that
// then wrote different rows. Not safe for concurrent use.
//
// The file is JSON, written atomically with mode 0600:
//
//	{"version": 1, "agents": {"<agent_id>": {"head_seq": 18, "head_mac": "<hex>",
//	  "key_id": "<id>", "file": "usage.db", "accepted": "2026-12-01T09:00:00Z"}}}
type Ledger struct {
	path   string
	agents map[string]LedgerEntry
}

// LedgerEntry is an agent's last accepted head.
type LedgerEntry struct {
	HeadSeq  int64  `json:"head_seq"`
	HeadMAC  string `json:"head_mac"`
	KeyID    string `json:"key_id"`
	File     string `json:"file"`     // base name of the accepted export
	Accepted string `json:"accepted"` // RFC 3339 UTC
}

// ledgerFile is the on-disk form: JSON, agents sorted by id.
type ledgerFile struct {
	Version int                    `json:"version"`
	Agents  map[string]LedgerEntry `json:"agents"`
}

const ledgerVersion = 1

// LoadLedger reads the ledger at path; a missing file is an empty ledger.
func LoadLedger(path string) (*Ledger, error) {
	l := &Ledger{path: path, agents: map[string]LedgerEntry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("export: load ledger: %w", err)
	}
	if err := l.parse(b); err != nil {
		return nil, fmt.Errorf("export: ledger %s: %w", path, err)
	}
	return l, nil
}

func (l *Ledger) parse(b []byte) error {
	var f ledgerFile
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f.Version != ledgerVersion {
		return fmt.Errorf("version %d, want %d", f.Version, ledgerVersion)
	}
	for id, e := range f.Agents {
		if _, ok := decodeMAC(textValue(e.HeadMAC)); id == "" || !ok || e.HeadSeq < 0 {
			return fmt.Errorf("agent %q: bad head", id)
		}
		l.agents[id] = e
	}
	return nil
}

// Head returns the last accepted head of agentID.
func (l *Ledger) Head(agentID string) (LedgerEntry, bool) {
	e, ok := l.agents[agentID]
	return e, ok
}

// Check accepts a verified export (s from Verify) only if its chain passes
// through the agent's accepted head: row head_seq of s.Path has the MAC
// head_mac. Otherwise it returns a *VerifyError with Reason "replayed" (the
// file ends at or before the accepted head) or "fork at seq N" (row N, the
// accepted head, differs: the fork lies at or before it). An agent the
// ledger has not seen passes. A segment passes when it starts at the accepted
// head, and fails naming the gap when it starts after it: the segments
// between were never accepted.
func (l *Ledger) Check(s *Summary) error {
	e, ok := l.agents[s.AgentID]
	if !ok || s.Segment > 0 && s.PrevHeadSeq == e.HeadSeq && s.PrevHeadMAC == e.HeadMAC {
		return nil // unseen, or the segment that follows the accepted head (which may hold no rows)
	}
	if s.HeadSeq < e.HeadSeq || s.HeadSeq == e.HeadSeq && s.HeadMAC == e.HeadMAC {
		return &VerifyError{Path: s.Path, Reason: "replayed"}
	}
	switch {
	case e.HeadSeq == 0 && s.PrevHeadSeq == 0: // every chain of this agent starts at the same MAC
		return nil
	case e.HeadSeq < s.PrevHeadSeq:
		return &VerifyError{Path: s.Path, Reason: fmt.Sprintf(
			"does not continue the ledger: accepted through seq %d, but this segment starts after seq %d (a segment between them is missing)",
			e.HeadSeq, s.PrevHeadSeq)}
	case e.HeadSeq == s.PrevHeadSeq: // and the MACs differ
		return &VerifyError{Path: s.Path, Reason: fmt.Sprintf("fork at seq %d", e.HeadSeq)}
	}
	got := s.HeadMAC
	if s.HeadSeq != e.HeadSeq {
		m, err := macAt(s.Path, e.HeadSeq)
		if err != nil {
			return err
		}
		got = hex.EncodeToString(m[:])
	}
	if got != e.HeadMAC {
		return &VerifyError{Path: s.Path, Reason: fmt.Sprintf("fork at seq %d", e.HeadSeq)}
	}
	return nil
}

// macAt reads the MAC of row seq of a file Verify has passed.
func macAt(path string, seq int64) (m mac, err error) {
	conn, err := openReadOnly(path)
	if err != nil {
		return m, err
	}
	defer conn.Close()
	stmt, err := conn.Prepare("SELECT mac FROM usage WHERE seq = ?")
	if err != nil {
		return m, classify(path, err)
	}
	defer stmt.Reset()
	stmt.BindInt64(1, seq)
	ok, err := stmt.Step()
	if err != nil {
		return m, classify(path, err)
	}
	if !ok || stmt.ColumnLen(0) != macSize {
		return m, &VerifyError{Path: path, Seq: seq, Reason: "changed since it was verified"}
	}
	stmt.ColumnBytes(0, m[:])
	return m, nil
}

// Accept records s's head as its agent's accepted head. Call it only for an
// export that passed Check.
func (l *Ledger) Accept(s *Summary) {
	l.agents[s.AgentID] = LedgerEntry{
		HeadSeq: s.HeadSeq, HeadMAC: s.HeadMAC, KeyID: s.KeyID,
		File: filepath.Base(s.Path), Accepted: time.Now().UTC().Format(time.RFC3339),
	}
}

func (l *Ledger) clone() *Ledger {
	c := &Ledger{path: l.path, agents: make(map[string]LedgerEntry, len(l.agents))}
	for id, e := range l.agents {
		c.agents[id] = e
	}
	return c
}

// Save writes the ledger atomically (a temporary file renamed over it),
// mode 0600.
func (l *Ledger) Save() error {
	b, err := json.MarshalIndent(ledgerFile{Version: ledgerVersion, Agents: l.agents}, "", "  ")
	if err != nil {
		return fmt.Errorf("export: save ledger: %w", err)
	}
	if err := writeAtomic(l.path, append(b, '\n')); err != nil {
		return fmt.Errorf("export: save ledger: %w", err)
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}
