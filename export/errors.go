package export

import (
	"errors"
	"fmt"
)

var (
	// ErrNotUsageDB means a file is not a usage database at all: not SQLite,
	// no meta and usage tables, or a schema_version this package does not
	// know. meterctl exits 2 for it (and for I/O errors); tampering is a
	// *VerifyError instead.
	ErrNotUsageDB = errors.New("export: not a usage database")
	// ErrMismatch means Open found a database made for another agent, key or
	// usage level than Options says.
	ErrMismatch = errors.New("export: usage database does not match options")
	// ErrInvalidAction means Write was given an action Verify would reject.
	ErrInvalidAction = errors.New("export: invalid action")
	// ErrClosed is returned by methods of a closed DB.
	ErrClosed = errors.New("export: closed")
	// ErrSameAgent means Report was given two exports of one agent without
	// a ledger, which would count their common rows twice.
	ErrSameAgent = errors.New("export: two exports of the same agent")
	// ErrAhead means Reconcile was told a license has consumed less than
	// the usage database already holds: the file is not this agent's
	// continuation, or the agent's state went back.
	ErrAhead = errors.New("export: usage database holds more consumption than the agent")
)

// VerifyError reports the first problem Verify found in a file: a row (Seq),
// the meta table (Meta), or the file as a whole (neither: corruption SQLite
// itself reports, an altered schema, a ledger conflict). meterctl exits 1
// for it.
type VerifyError struct {
	Path   string
	Seq    int64 // first bad row; 0 when the problem is not a row
	Meta   bool  // the meta table is what failed
	Reason string
}

func (e *VerifyError) Error() string {
	switch {
	case e.Meta:
		return fmt.Sprintf("%s: meta: %s", e.Path, e.Reason)
	case e.Seq != 0:
		return fmt.Sprintf("%s: seq %d: %s", e.Path, e.Seq, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Reason)
}
