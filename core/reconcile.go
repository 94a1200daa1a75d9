package core

import (
	"fmt"
	"strings"

	"github.com/meterd/meterd/export"
)

// reconcileUsage runs at start-up, before replay exports from WAL record from on. The usage
// database holds each license's consumption as of its watermark; the state, as of the
// checkpoint (applied). Compared at record p, where export resumes (the watermark, or the log's
// first record - 1 when the records after the watermark are gone), they must agree. What the
// database lacks there (records applied while it was off, or gone from the log because it was
// restored to an older copy) is written as one unexported row per license, so it reaches the
// bill instead of vanishing. A database that holds more than the state consumed is not this
// agent's continuation: start-up stops (export.ErrAhead).
func (e *Engine) reconcileUsage(a *applier, from uint64) error {
	p := max(a.batcher.ExportedSeq(), from-1)
	moved, at, err := e.consumedBetween(a, p)
	if err != nil {
		return err
	}
	bals := make([]export.Balance, 0, len(a.d.licenses))
	for _, l := range a.d.licenses {
		b := export.Balance{LicenseID: l.ID, Owner: l.Owner, Item: l.Item, Consumed: consumed(l)}
		if n := moved[l.ID]; n != nil {
			b.Consumed += *n
		}
		bals = append(bals, b)
	}
	rows, err := a.db.Reconcile(bals, unixTime(at))
	if err != nil {
		return fmt.Errorf("usage database %s: %w", a.db.Path(), err)
	}
	if rows > 0 {
		e.logger.Warn("units consumed without reaching the usage database (it was off, or restored to an older copy) "+
			"are written as unexported rows and billed", "licenses", rows, "path", a.db.Path())
	}
	return nil
}

// consumedBetween returns what each license's consumption at record p differs from the state's
// at a.d.applied: the units of records applied+1 to p when p is later, minus those of records
// p+1 to applied when it is earlier. It also returns the time of record p+1 (the clock's mark
// if there is none): unexported rows stand just before it.
func (e *Engine) consumedBetween(a *applier, p uint64) (map[string]*int64, int64, error) {
	moved := make(map[string]*int64)
	lo, hi, sign := p+1, a.d.applied, int64(-1)
	if p > a.d.applied {
		lo, hi, sign = a.d.applied+1, p, 1
	}
	at := e.clk.mark()
	err := e.log.Records(lo, max(hi, p+1), func(seq uint64, b []byte) error {
		rec, err := a.dec.Decode(b)
		if err != nil {
			return fmt.Errorf("%s: record %d: %w", e.walDir, seq, err)
		}
		if seq == p+1 {
			at = rec.Time()
		}
		if seq <= hi {
			rec.Consumed(func(license string, units int64) {
				// license aliases the log's buffer. An assignment to a map with string keys
				// stores its key even when the key is there already, so the count is
				// reached through a pointer, and only a new key (copied) is ever assigned.
				n := moved[license]
				if n == nil {
					n = new(int64)
					moved[strings.Clone(license)] = n
				}
				*n += sign * units
			})
		}
		return nil
	})
	return moved, at, err
}
