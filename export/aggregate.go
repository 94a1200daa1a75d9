package export

import (
	"fmt"
	"math"
	"time"
)

// groupKey is what one Standard row stands for within a batch. Owner and
// item come along with the license (a license has one of each) so a caller
// that broke that rule still gets correct totals. The UTC day keeps
// `meterctl report -by day` exact when a batch crosses midnight.
type groupKey struct {
	license, owner, item string
	kind                 ActionKind
	day                  int64 // days since the Unix epoch, UTC
}

type aggRow struct {
	key    groupKey
	first  time.Time // time of the group's first action: the row's time
	units  int64
	events int64
	prov   *Action // a provision's own action, for its externalId and signature; nil otherwise
}

// aggregate groups actions into w.agg in order of first appearance. A provision is a group of
// its own: its row carries the transaction's externalId (and the first item's, the vendor's
// signature), which a sum of several transactions could not, and provisions are too rare for
// their rows to matter.
func (w *writeScratch) aggregate(actions []Action) error {
	if w.groups == nil {
		w.groups = make(map[groupKey]int)
	}
	clear(w.groups)
	w.agg = w.agg[:0]
	last := -1
	for i := range actions {
		a := &actions[i]
		k := groupKey{license: a.LicenseID, owner: a.Owner, item: a.Item, kind: a.Kind, day: utcDay(a.Time)}
		if a.Kind == Provision {
			w.agg = append(w.agg, aggRow{key: k, first: a.Time, units: a.Units, events: 1, prov: a})
			last = -1
			continue
		}
		j := last
		if j < 0 || w.agg[j].key != k { // runs of one license are common: skip the map
			var ok bool
			if j, ok = w.groups[k]; !ok {
				j = len(w.agg)
				w.agg = append(w.agg, aggRow{key: k, first: a.Time})
				w.groups[k] = j
			}
		}
		g := &w.agg[j]
		if a.Units > math.MaxInt64-g.units {
			return fmt.Errorf("%w: WAL seq %d: units overflow the row's sum", ErrInvalidAction, a.WALSeq)
		}
		g.units += a.Units
		g.events++
		last = j
	}
	return nil
}

func utcDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}
