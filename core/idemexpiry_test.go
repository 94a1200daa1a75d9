package core_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/wal"
)

// An Idempotency-Key is remembered for IDEMPOTENCY_TTL, live and across a restart, and
// forgotten after it: then the key is free for a new request, which is decided afresh.
func TestIdempotencyKeyExpires(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.IdempotencyTTL = time.Hour
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := newTestClock(t0)
	e := openEngine(t, cfg, clk.opts())
	id := orderPdfPro(t, e, "order-1", 1000, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	keyed := func(e *core.Engine, units int64) (core.Answer, error) {
		var ans core.Answer
		err := e.Consume(&core.ConsumeRequest{License: id, Units: units, IdempotencyKey: "job-1"}, &ans)
		return ans, err
	}
	first, err := keyed(e, 3)
	if err != nil || !first.Granted {
		t.Fatalf("first: %+v, %v", first, err)
	}
	check := func(e *core.Engine, when string, units int64, want core.Answer, wantConsumed int64) {
		t.Helper()
		got, err := keyed(e, units)
		if err != nil || got != want {
			t.Fatalf("%s: %+v, %v; want %+v", when, got, err, want)
		}
		if c := consumed(t, e, id); c != wantConsumed {
			t.Fatalf("%s: consumed %d, want %d", when, c, wantConsumed)
		}
	}
	check(e, "resent within the TTL", 3, first, 3)
	if _, err := keyed(e, 4); !errors.Is(err, core.ErrIdempotencyMismatch) {
		t.Fatalf("another body within the TTL: %v, want ErrIdempotencyMismatch", err)
	}

	clk.set(t0.Add(61 * time.Minute))
	core.ExpireIdempotencyKeys(e)
	if n := metricValue(t, e, "meterd_idempotency_keys"); n != 0 {
		t.Fatalf("%v keys held after the sweep, want 0", n)
	}
	second, err := keyed(e, 4) // the key is free again: another body is decided afresh
	if err != nil || !second.Granted || second.Seq == first.Seq || consumed(t, e, id) != 7 {
		t.Fatalf("after the TTL: %+v, %v, consumed %d; want a new grant of 4 (7 in all)", second, err, consumed(t, e, id))
	}
	closeEngine(t, e)

	e = openEngine(t, cfg, clk.opts()) // the second use is within its TTL: remembered across a restart
	check(e, "resent after a restart", 4, second, 7)
	closeEngine(t, e)

	clk.set(t0.Add(3 * time.Hour))
	e = openEngine(t, cfg, clk.opts()) // expired while stopped: not loaded
	if n := metricValue(t, e, "meterd_idempotency_keys"); n != 0 {
		t.Fatalf("%v keys loaded after their TTL, want 0", n)
	}
	closeEngine(t, e) // the final checkpoint drops what expired, from disk too
	if n := stateKeys(t, cfg, "i/"); n != 0 {
		t.Fatalf("%d idempotency keys left in the checkpoint after their TTL", n)
	}

	e = openEngine(t, cfg, clk.opts())
	defer closeEngine(t, e)
	third, err := keyed(e, 5)
	if err != nil || !third.Granted || consumed(t, e, id) != 12 {
		t.Fatalf("after the TTL and a restart: %+v, %v, consumed %d; want a new grant of 5 (12 in all)", third, err, consumed(t, e, id))
	}
}

// stateKeys counts the keys with prefix in the stopped agent's checkpoint.
func stateKeys(t *testing.T, cfg config.Config, prefix string) int {
	t.Helper()
	l, err := wal.Open(filepath.Join(cfg.DataDir, "wal"), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n := 0
	if err := l.State(func(k, _ []byte) error {
		if strings.HasPrefix(string(k), prefix) {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A key lives exactly IDEMPOTENCY_TTL: a start one nanosecond before its end loads it, a
// start at its end does not.
func TestIdempotencyKeyTTLAtStartUp(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.IdempotencyTTL = time.Hour
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := newTestClock(t0)
	e := openEngine(t, cfg, clk.opts())
	id := orderPdfPro(t, e, "order-1", 1000, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	var ans core.Answer
	if err := e.Consume(&core.ConsumeRequest{License: id, Units: 1, IdempotencyKey: "job-1"}, &ans); err != nil || !ans.Granted {
		t.Fatalf("consume: %+v, %v", ans, err)
	}
	closeEngine(t, e)
	for _, c := range []struct {
		at   time.Time
		keys float64
	}{{t0.Add(time.Hour - 1), 1}, {t0.Add(time.Hour), 0}} {
		clk.set(c.at)
		e := openEngine(t, cfg, clk.opts())
		n := metricValue(t, e, "meterd_idempotency_keys")
		closeEngine(t, e)
		if n != c.keys {
			t.Fatalf("start %v after the key: %v keys loaded, want %v", c.at.Sub(t0), n, c.keys)
		}
	}
}
