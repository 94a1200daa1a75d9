package export

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// Summary describes a usage database that verified.
type Summary struct {
	Path, AgentID, KeyID, Level string
	Rows                        int64
	FirstSeq, LastSeq           int64 // 0 when there are no rows
	Units                       int64 // consume, checkout and unexported units: what reports total
	HeadSeq                     int64 // meta head_seq: LastSeq, or PrevHeadSeq when a segment has no rows
	HeadMAC                     string
	Created                     string
	// Segment is the file's place in its agent's chain (1, 2, ...) and Period the UTC month
	// or day it covers ("" when open-ended); 0 for a file written without rotation, which is
	// a whole chain. A segment's first row follows PrevHeadSeq and PrevHeadMAC, the previous
	// segment's head.
	Segment     int64
	Period      string
	PrevHeadSeq int64
	PrevHeadMAC string
	// Gaps are the unexported rows: units billed without the actions that
	// consumed them. The file verifies; meterctl verify warns of each.
	Gaps []Gap
	// Transactions are the provisioning transactions, in the order of their
	// first rows, with what their vendor signatures show. An unsigned or
	// badly signed one does not fail the file: the chain holds, and the
	// vendor decides what the provision is worth.
	Transactions []Transaction
}

// Verify checks the whole file at path against key, read-only, and reports
// the first problem: a *VerifyError for tampering or damage (meterctl exits
// 1), an error wrapping ErrNotUsageDB for a file that is no usage database,
// or the I/O error (meterctl exits 2).
func Verify(path string, key []byte) (*Summary, error) {
	return verify(path, key, VerifyOptions{}, nil)
}

// VerifyOptions configure VerifyWith.
type VerifyOptions struct {
	// VendorKey, if set, checks the vendor signature of every provision
	// (Transaction.Signature); without it a signed provision is
	// SignatureUnchecked.
	VendorKey ed25519.PublicKey
}

// VerifyWith is Verify with options.
func VerifyWith(path string, key []byte, opts VerifyOptions) (*Summary, error) {
	return verify(path, key, opts, nil)
}

// rowFunc sees each row that passed every check, in seq order. A later
// problem in the file can still fail it, so callers keep what they learn
// until verify returns nil.
type rowFunc func(s *Summary, r *row)

type verifier struct {
	path  string
	conn  *sqlite.Conn
	sign  *signer
	keyID string
	visit rowFunc
	prov  provisionSet
	// trail is what the agent's earlier segments left, when they are verified in the same
	// run (see VerifySet); nil for a file on its own.
	trail *chainTrail
}

func verify(path string, key []byte, opts VerifyOptions, visit rowFunc) (*Summary, error) {
	return verifyIn(path, key, opts, visit, nil)
}

func verifyIn(path string, key []byte, opts VerifyOptions, visit rowFunc, trail *chainTrail) (*Summary, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("export: verify %s: key has %d bytes, want %d", path, len(key), KeySize)
	}
	conn, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	v := &verifier{path: path, conn: conn, sign: newSigner(key), keyID: KeyID(key), visit: visit,
		prov: provisionSet{vendorKey: opts.VendorKey}, trail: trail}
	return v.run()
}

// run checks the schema, then SQLite's own integrity check, then meta and
// every row. When the integrity check fails, the logical checks still run
// to say where (a row, or meta); only if they find nothing is the damage
// reported alone, naming no row.
func (v *verifier) run() (*Summary, error) {
	objs, err := readSchema(v.conn)
	if err != nil {
		return nil, classify(v.path, err)
	}
	if !hasTables(objs) {
		return nil, fmt.Errorf("%w: %s: no meta or usage table", ErrNotUsageDB, v.path)
	}
	if p := schemaProblem(objs); p != "" {
		return nil, &VerifyError{Path: v.path, Reason: p}
	}
	damage, err := v.integrity()
	if err != nil {
		return nil, err
	}
	s, err := v.logical()
	if damage == "" {
		return s, err
	}
	var ve *VerifyError
	if errors.As(err, &ve) {
		ve.Reason += " (integrity_check: " + damage + ")"
		return nil, err
	}
	if err == nil {
		err = &VerifyError{Path: v.path, Meta: strings.Contains(damage, "meta"), Reason: "database corrupt: " + damage}
	}
	return nil, err
}

// integrity returns SQLite's first complaint about the file, or "".
func (v *verifier) integrity() (string, error) {
	var first string
	err := sqlitex.ExecuteTransient(v.conn, "PRAGMA integrity_check(1)", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { first = stmt.ColumnText(0); return nil },
	})
	switch {
	case err != nil && sqlite.ErrCode(err).ToPrimary() == sqlite.ResultCorrupt:
		return sqliteMessage(err), nil
	case err != nil:
		return "", classify(v.path, err)
	case first == "ok":
		return "", nil
	}
	return strings.ReplaceAll(strings.TrimSpace(first), "\n", "; "), nil
}

func (v *verifier) logical() (*Summary, error) {
	entries, reason, err := readMeta(v.conn)
	if err != nil {
		return nil, classify(v.path, err)
	}
	if reason != "" {
		return nil, &VerifyError{Path: v.path, Meta: true, Reason: reason}
	}
	m, err := checkMeta(v.path, entries, v.sign, v.keyID)
	if err != nil {
		return nil, err
	}
	s := &Summary{Path: v.path, AgentID: m.agentID, KeyID: m.keyID, Level: m.level.String(), Created: m.created,
		HeadSeq: m.headSeq, Segment: m.seg.segment, Period: m.seg.period}
	if m.seg.segment > 0 {
		s.PrevHeadSeq, s.PrevHeadMAC = m.seg.prevHeadSeq, hex.EncodeToString(m.seg.prevHeadMAC[:])
	}
	if err := v.trail.joins(s); err != nil {
		return nil, err
	}
	v.prov.agentID = m.agentID
	c := v.trail.checker(m)
	head, err := v.rows(m, s, c)
	if err != nil {
		return nil, err
	}
	if err := v.head(m, s, head); err != nil {
		return nil, err
	}
	v.trail.done(s, c)
	s.HeadMAC = hex.EncodeToString(head[:])
	s.Transactions = v.prov.done()
	return s, nil
}

// rows walks the chain in seq order and returns the MAC of the last row.
func (v *verifier) rows(m *metaInfo, s *Summary, c *rowChecker) (mac, error) {
	first, prev := m.chainStart(v.sign)
	stmt, err := v.conn.Prepare(selectRows + " ORDER BY seq")
	if err != nil {
		return prev, classify(v.path, err)
	}
	defer stmt.Reset()
	var r row
	for seq := first + 1; ; seq++ {
		ok, err := stmt.Step()
		if err != nil {
			return prev, v.rowErr(seq, err)
		}
		if !ok {
			return prev, nil
		}
		got, macOK := readRow(stmt, &r)
		if reason := v.checkLink(seq, &r, &prev, got, macOK); reason != "" {
			return prev, &VerifyError{Path: v.path, Seq: seq, Reason: reason}
		}
		if reason := c.check(&r, s); reason != "" {
			return prev, &VerifyError{Path: v.path, Seq: seq, Reason: reason}
		}
		if r[colAction].s == kindNames[Provision] {
			v.prov.add(&r)
		}
		if v.visit != nil {
			v.visit(s, &r)
		}
		prev = got
	}
}

func (v *verifier) rowErr(seq int64, err error) error {
	if sqlite.ErrCode(err).ToPrimary() == sqlite.ResultCorrupt {
		return &VerifyError{Path: v.path, Seq: seq, Reason: "unreadable: " + sqliteMessage(err)}
	}
	return classify(v.path, err)
}

// checkLink checks that r is row seq and that its MAC chains from prev.
func (v *verifier) checkLink(seq int64, r *row, prev *mac, got mac, macOK bool) string {
	switch n := r[colSeq].i; {
	case n > seq:
		return fmt.Sprintf("row missing (next row is seq %d)", n)
	case n < seq:
		return fmt.Sprintf("row numbered %d", n)
	case !macOK:
		return "mac is not a 32-byte blob"
	}
	if want := v.sign.row(prev, r); !macEqual(got[:], want[:]) {
		return "mac mismatch"
	}
	return ""
}

func (v *verifier) head(m *metaInfo, s *Summary, head mac) error {
	bad := func(format string, args ...any) error {
		return &VerifyError{Path: v.path, Meta: true, Reason: fmt.Sprintf(format, args...)}
	}
	last := s.LastSeq
	if s.Rows == 0 {
		last, _ = m.chainStart(v.sign)
	}
	switch {
	case m.headSeq != last:
		return bad("head_seq %d but last row is %d", m.headSeq, last)
	case head != m.headMAC && s.Rows == 0:
		return bad("head_mac is not the chain start")
	case head != m.headMAC:
		return bad("head_mac does not match row %d", s.LastSeq)
	}
	return nil
}

var colNames = [numCols]string{
	"seq", "batch", "time", "action", "owner", "item", "license_id",
	"units", "events", "license_consumed", "session", "username", "hostname", "ipaddress",
	"external_id", "vendor_signature", "vendor_request",
}
