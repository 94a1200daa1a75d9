package core_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
	"github.com/meterd/meterd/shard"
)

// poolCluster starts a 3-member etcd cluster for one test.
func poolCluster(t *testing.T) *harness.EtcdCluster {
	t.Helper()
	bin := harness.NeedTool(t, "etcd", "etcd-server")
	c, err := harness.StartEtcd(bin, t.TempDir(), 3, &harness.LogBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func poolConfig(t *testing.T, c *harness.EtcdCluster, block int) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.PoolEndpoints = c.Endpoints()[0] + "," + c.Endpoints()[1] + "," + c.Endpoints()[2]
	cfg.PoolBlock = block
	cfg.PoolLeaseTTL = 2 * time.Second
	cfg.UsageWriteInterval = 10
	return cfg
}

func openPooled(t *testing.T, cfg config.Config, prefix string) *core.Engine {
	t.Helper()
	e, err := core.Open(cfg, core.Options{PoolPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func dayOrderFor(ext, product string, qty int64) core.Order {
	from, until := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	return core.Order{Type: "Order", ExternalID: ext, Items: []core.OrderItem{{ProductID: product, Quantity: qty, ValidFrom: &from, ValidUntil: &until}}}
}

// visible waits until e mirrors license id (the pool's watch), up to 10 s.
func visible(t *testing.T, e *core.Engine, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.License(id); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("license %s not mirrored: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond) // the watch has no signal of its own for a test
	}
}

// spend consumes units at a time from owner's item on e with workers goroutines until denied;
// it returns the units granted and the reasons of the denials.
func spend(t *testing.T, e *core.Engine, owner, item string, units int64, workers int) (int64, map[shard.Outcome]int) {
	var granted atomic.Int64
	var mu sync.Mutex
	denials := map[shard.Outcome]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				req := core.ConsumeRequest{Owner: owner, Item: item, Units: units}
				var ans core.Answer
				if err := e.Consume(&req, &ans); err != nil {
					t.Error(err)
					return
				}
				if !ans.Granted {
					mu.Lock()
					denials[ans.Outcome]++
					mu.Unlock()
					return
				}
				granted.Add(ans.Units)
			}
		}()
	}
	wg.Wait()
	return granted.Load(), denials
}

// spendReturned takes units one at a time until want are granted, then checks that the next
// is denied exhausted. It asks again on exhausted meanwhile: an agent that found the pool empty
// answers from that look for up to a tenth of a second (retryQuiet) before asking etcd again,
// so units another agent has just returned reach it that much later. Five seconds bound it.
func spendReturned(t *testing.T, e *core.Engine, owner, item string, want int64) {
	t.Helper()
	var granted int64
	deadline := time.Now().Add(5 * time.Second)
	for granted < want {
		var ans core.Answer
		if err := e.Consume(&core.ConsumeRequest{Owner: owner, Item: item, Units: 1}, &ans); err != nil {
			t.Fatal(err)
		}
		switch {
		case ans.Granted:
			granted++
		case ans.Outcome != shard.Exhausted || time.Now().After(deadline):
			t.Fatalf("granted %d of the %d units returned, then %v", granted, want, ans.Outcome)
		}
	}
	var ans core.Answer
	if err := e.Consume(&core.ConsumeRequest{Owner: owner, Item: item, Units: 1}, &ans); err != nil || ans.Granted || ans.Outcome != shard.Exhausted {
		t.Fatalf("after the %d units returned: %+v %v, want exhausted", want, ans, err)
	}
}

// TestPoolTwoAgents: two engines spend one pooled license concurrently; together they grant
// it whole and no more, the pool's totals show it, and a closing agent gives back what it held.
func TestPoolTwoAgents(t *testing.T) {
	c := poolCluster(t)
	const block, total = 100, 2_000
	e1 := openPooled(t, poolConfig(t, c, block), "t/")
	cfg2 := poolConfig(t, c, block)
	e2 := openPooled(t, cfg2, "t/")
	if _, err := e1.PutProduct("p", core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	order := dayOrderFor("ord-1", "p", total)
	tx, err := e1.Provision("organizations/o", order, core.Signed{})
	if err != nil {
		t.Fatal(err)
	}
	id := tx.Items[0].License.ID
	if tx.Items[0].License.Total() != total {
		t.Fatalf("provisioned %d units", tx.Items[0].License.Total())
	}
	visible(t, e2, id)
	// The same order through the other agent: the first answer, nothing provisioned.
	again, err := e2.Provision("organizations/o", order, core.Signed{})
	if err != nil || again.ID != tx.ID {
		t.Fatalf("resent order: %v %v", again.ID, err)
	}
	if _, err := e2.Provision("organizations/o", dayOrderFor("ord-1", "p", 5), core.Signed{}); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("changed order under the same externalId: %v", err)
	}

	var g1, g2 int64
	var d1, d2 map[shard.Outcome]int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); g1, d1 = spend(t, e1, "organizations/o", "PdfPro", 7, 4) }()
	go func() { defer wg.Done(); g2, d2 = spend(t, e2, "organizations/o", "PdfPro", 7, 4) }()
	wg.Wait()
	t.Logf("agent 1 granted %d, agent 2 %d, of %d; denials %v %v", g1, g2, total, d1, d2)
	if g1+g2 > total || g1+g2 < total-2*6 {
		t.Fatalf("granted %d of %d: want at most all and at least all but 6 per agent", g1+g2, total)
	}
	if d1[shard.Exhausted] != 4 || d2[shard.Exhausted] != 4 {
		t.Fatalf("denials %v %v, want exhausted for every worker", d1, d2)
	}

	// Agent 2 closes: its leftovers go back, and agent 1 spends them unit by unit.
	if err := e2.Close(); err != nil {
		t.Fatal(err)
	}
	spendReturned(t, e1, "organizations/o", "PdfPro", total-g1-g2)
	v, err := e1.License(id)
	if err != nil || v.Total() != total || v.Consumed() != total {
		t.Fatalf("pool view: total %d consumed %d, %v", v.Total(), v.Consumed(), err)
	}

	// Agent 2 comes back on its data directory: it recovers its pooled license from its log.
	e2 = openPooled(t, cfg2, "t/")
	defer e2.Close()
	var ans core.Answer
	if err := e2.Consume(&core.ConsumeRequest{Owner: "organizations/o", Item: "PdfPro", Units: 1}, &ans); err != nil || ans.Granted || ans.Outcome != shard.Exhausted {
		t.Fatalf("after restart: %+v %v", ans, err)
	}
	// Agent 1's last units reach the pool's totals with its next report, or when it closes.
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := e2.License(id); err != nil || v.Consumed() != total {
		t.Fatalf("pool view on agent 2: %d %v", v.Consumed(), err)
	}
}

// TestPoolQuorumLoss: without a quorum an agent grants from the blocks it holds, then denies
// with pool_unavailable; with the quorum back it leases again.
func TestPoolQuorumLoss(t *testing.T) {
	c := poolCluster(t)
	const block = 50
	e := openPooled(t, poolConfig(t, c, block), "q/")
	defer e.Close()
	if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "Viewer", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Provision("users/u", dayOrderFor("q-1", "p", 10_000), core.Signed{}); err != nil {
		t.Fatal(err)
	}
	var ans core.Answer
	consume := func() {
		t.Helper()
		if err := e.Consume(&core.ConsumeRequest{Owner: "users/u", Item: "Viewer", Units: 1}, &ans); err != nil {
			t.Fatal(err)
		}
	}
	consume()
	if !ans.Granted {
		t.Fatalf("first consume: %+v", ans)
	}
	held := ans.Remaining
	c.Stop(1)
	c.Stop(2)
	var granted int64
	for consume(); ans.Granted; consume() {
		granted++
	}
	if ans.Outcome != shard.PoolUnavailable || granted < held || granted > held+2*block {
		t.Fatalf("without quorum: %d granted (held %d), then %+v", granted, held, ans)
	}
	if _, err := e.Provision("users/u", dayOrderFor("q-2", "p", 1), core.Signed{}); !errors.Is(err, core.ErrPoolUnavailable) {
		t.Fatalf("provisioning without quorum: %v", err)
	}
	if err := c.Restart(30*time.Second, 1, 2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for consume(); !ans.Granted; consume() {
		if time.Now().After(deadline) {
			t.Fatalf("no grant after the quorum came back: %+v", ans)
		}
		time.Sleep(50 * time.Millisecond) // the refiller retries on its own tick
	}
}

// TestPoolLeasesFollowTheRate: a license consumed fast here leases more than POOL_BLOCK at a
// time (about a second of its use), so 20,000 units of blocks of 100 take far fewer than 200
// leases, and no consume is denied while the pool has units.
func TestPoolLeasesFollowTheRate(t *testing.T) {
	c := poolCluster(t)
	const block, total = 100, 20_000
	e := openPooled(t, poolConfig(t, c, block), "t/")
	defer e.Close()
	if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "PdfPro", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Provision("organizations/o", dayOrderFor("ord-1", "p", total), core.Signed{}); err != nil {
		t.Fatal(err)
	}
	granted, denials := spend(t, e, "organizations/o", "PdfPro", 1, 4)
	leases, units := metricValue(t, e, "meterd_pool_leases_total"), metricValue(t, e, "meterd_pool_leased_units_total")
	t.Logf("granted %d in %v leases of %v units; denials %v", granted, leases, units, denials)
	if granted != total || denials[shard.Exhausted] != 4 || len(denials) != 1 {
		t.Fatalf("granted %d of %d, denials %v: want all of it, then exhausted for each worker", granted, total, denials)
	}
	if units != total || leases >= total/block/2 {
		t.Fatalf("%v leases moved %v units: want all %d units in fewer than %d leases", leases, units, total, total/block/2)
	}
}
