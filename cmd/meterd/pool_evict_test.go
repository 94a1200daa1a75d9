package main_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

// TestPoolEvictKilledAgent: an agent killed with units it leased and never used is evicted
// with meterctl pool evict, and the other agent spends the pool to the last unit; the evicted
// agent, started again on its data directory, drops its old blocks unspent; and the report over
// both usage databases bills exactly what was granted.
func TestPoolEvictKilledAgent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cluster, key := startPool(t, dir, 1, &harness.LogBuffer{})
	endpoints := cluster.Endpoints()[0]
	args := []string{"-pool-endpoints", endpoints, "-pool-block", "100", "-pool-lease-ttl", "2s", "-usage-key-file", key}
	dataA, dataB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	a, b := startMeterd(t, dataA, args...), startMeterd(t, dataB, args...)
	defer b.Kill()
	ctx := t.Context()
	if _, err := a.c.PutProduct(ctx, "shared", client.Product{LicensedItem: "Item", TrackingMode: client.TrackCallerCount, CreditAmount: 1}); err != nil {
		t.Fatal(err)
	}
	const pool = 1_000
	tx, err := a.c.Provision(ctx, "organizations/o", dayOrder("pool-1", "shared", pool))
	if err != nil {
		t.Fatal(err)
	}
	license := tx.Items[0].Licenses[0].ID
	a.consumeUnits(30) // a leases a block of 100 and uses 30 of it

	// b shows the pool's consumption with a's last report in it: then a's use is known to the
	// pool, and what the eviction releases is only what a never used.
	for deadline := time.Now().Add(30 * time.Second); ; {
		l, err := b.c.License(ctx, license)
		if err == nil && l.UseCountConsumed == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent b never showed a's 30 units consumed: %+v %v", l, err)
		}
		time.Sleep(20 * time.Millisecond) // no signal crosses the process boundary
	}
	agentA := agentID(t, filepath.Join(dataA, "usage.db"))
	a.kill()
	// The pool refuses to evict a member whose lease it still holds (2 s after the kill).
	for deadline := time.Now().Add(30 * time.Second); ; {
		out, err := meterctl.Run("pool", "evict", "-endpoints", endpoints, agentA)
		if err == nil {
			t.Logf("meterctl pool evict: %s", strings.TrimSpace(string(out)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("evict: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // the membership lease runs out on etcd's clock
	}

	granted := int64(30)
	for {
		d, err := b.c.Consume(ctx, client.ConsumeRequest{Owner: "organizations/o", Item: "Item", Units: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Granted {
			if d.Reason != "exhausted" {
				t.Fatalf("b denied with %q after %d units", d.Reason, granted)
			}
			break
		}
		granted++
	}
	if granted != pool {
		t.Fatalf("granted %d units in all, want the whole pool of %d: the eviction released what a never used", granted, pool)
	}

	a = startMeterd(t, dataA, args...) // fenced: its old blocks are dropped, not spent
	if d, err := a.c.Consume(ctx, client.ConsumeRequest{Owner: "organizations/o", Item: "Item", Units: 1}); err != nil || d.Granted || d.Reason != "exhausted" {
		t.Fatalf("the evicted agent, restarted: %+v %v; want exhausted", d, err)
	}
	if !strings.Contains(a.log.String(), "evicted") {
		t.Fatalf("the restarted agent did not log its eviction:\n%s", a.log.String())
	}
	a.stop(syscall.SIGTERM)
	b.stop(syscall.SIGTERM)
	billed, err := meterctl.Billed(key, filepath.Join(dataA, "usage.db"), filepath.Join(dataB, "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	if billed["Item"] != granted {
		t.Fatalf("billed %d, granted %d", billed["Item"], granted)
	}
}
