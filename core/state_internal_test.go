package core

import (
	"errors"
	"testing"

	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// Replay refuses a decision that the license it names could not have made, rather than
// building a state that overdraws a credit or panicking on one that does not exist: the
// start-up stops with ErrBadRecord and the log is left for inspection.
func TestAddUsedRefusesImpossibleParts(t *testing.T) {
	t.Parallel()
	lic := func() *record.License {
		return &record.License{ID: "lic", Credits: []record.Credit{{ID: "c0", UseCount: 10, Used: 8}, {ID: "c1", UseCount: 5}}}
	}
	for _, c := range []struct {
		name  string
		parts []shard.Part
		ok    bool
	}{
		{"the last units of a credit", []shard.Part{{Credit: 0, Units: 2}}, true},
		{"one unit past a credit", []shard.Part{{Credit: 0, Units: 3}}, false},
		{"the last credit", []shard.Part{{Credit: 1, Units: 5}}, true},
		{"a credit past the last", []shard.Part{{Credit: 2, Units: 1}}, false},
		{"a negative credit", []shard.Part{{Credit: -1, Units: 1}}, false},
		{"negative units", []shard.Part{{Credit: 1, Units: -1}}, false},
	} {
		l := lic()
		err := addUsed(l, c.parts)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadRecord)) {
			t.Errorf("%s: %v, want ok=%v (or ErrBadRecord)", c.name, err, c.ok)
		}
		if c.ok && l.Credits[c.parts[0].Credit].Used != lic().Credits[c.parts[0].Credit].Used+c.parts[0].Units {
			t.Errorf("%s: credits %+v after the parts", c.name, l.Credits)
		}
	}
}
