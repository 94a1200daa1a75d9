package shard_test

import (
	"testing"

	"github.com/meterd/meterd/shard"
)

func TestOutcomeString(t *testing.T) {
	f := func(o shard.Outcome, want string) {
		t.Helper()
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", uint8(o), got, want)
		}
	}
	f(shard.Granted, "granted")
	f(shard.Exhausted, "exhausted")
	f(shard.Expired, "expired")
	f(shard.NotYetValid, "not_yet_valid")
	f(shard.PoolUnavailable, "pool_unavailable")
	f(shard.Outcome(9), "outcome(9)")
}
