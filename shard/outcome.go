package shard

import "strconv"

// Outcome of a Take.
type Outcome uint8

const (
	// Granted means all n units were taken.
	Granted Outcome = iota
	// Exhausted means the active credits hold fewer than n units.
	Exhausted
	// Expired means no credit is active now and none starts in the future.
	Expired
	// NotYetValid means no credit is active now, but at least one starts in
	// the future.
	NotYetValid
	// PoolUnavailable is never the outcome of a Take: it is the engine's answer for a
	// license shared through a pool (core/pool) when the units held here fall short and
	// the pool cannot be reached for more.
	PoolUnavailable
)

var outcomeNames = [...]string{
	Granted:         "granted",
	Exhausted:       "exhausted",
	Expired:         "expired",
	NotYetValid:     "not_yet_valid",
	PoolUnavailable: "pool_unavailable",
}

// String returns the name used on the wire and in metrics labels.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}
