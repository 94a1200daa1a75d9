package pool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd/core/harness"
	"github.com/meterd/meterd/core/pool"
)

// One 3-member cluster serves every test of the package; each test keeps to its own prefix.
var (
	clusterOnce sync.Once
	cluster     *harness.EtcdCluster
	clusterErr  error
	clusterDir  string
	// faults serialises the tests that stop members with the others.
	faults sync.RWMutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		cluster.Close()
		os.RemoveAll(clusterDir)
	}
	os.Exit(code)
}

func etcd(t *testing.T) *harness.EtcdCluster {
	t.Helper()
	bin := harness.NeedTool(t, "etcd", "etcd-server")
	clusterOnce.Do(func() {
		clusterDir, clusterErr = os.MkdirTemp("", "meterd-pool-etcd-")
		if clusterErr == nil {
			cluster, clusterErr = harness.StartEtcd(bin, clusterDir, 3, &harness.LogBuffer{})
		}
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return cluster
}

func open(t *testing.T, c *harness.EtcdCluster, prefix string) *pool.Store {
	t.Helper()
	s, err := pool.Open(pool.Config{Endpoints: c.Endpoints(), Prefix: prefix, TTL: 2 * time.Second, OpTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// licensed opens a store under a prefix of the test's own, with license L of units
// provisioned. The test shares the cluster with the others: a test that stops members takes
// faults.Lock instead, and sets up on its own.
func licensed(t *testing.T, units ...int64) *pool.Store {
	t.Helper()
	faults.RLock()
	t.Cleanup(faults.RUnlock)
	s := open(t, etcd(t), prefix(t))
	provision(t, s, "L", units...)
	return s
}

func prefix(t *testing.T) string { return fmt.Sprintf("test/%s/%d/", t.Name(), time.Now().UnixNano()) }

// provision puts a product and one license of units, valid from an hour ago for a day.
func provision(t *testing.T, s *pool.Store, id string, units ...int64) {
	t.Helper()
	ctx := t.Context()
	if err := s.PutProduct(ctx, pool.Product{ID: "p", Name: "P", LicensedItem: "P", Mode: 2, CreditAmount: 1},
		func(*pool.Product, *pool.Catalogue) error { return nil }); err != nil {
		t.Fatal(err)
	}
	cat, err := s.Catalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := pool.License{ID: id, Owner: "organizations/o", Item: "P", ProductID: "p", Created: time.Now().UnixNano()}
	now := time.Now().UTC()
	for i, u := range units {
		l.Credits = append(l.Credits, pool.Credit{ID: fmt.Sprintf("c%d", i), From: now.Add(-time.Hour), Until: now.Add(24 * time.Hour), UseCount: u})
	}
	ok, err := s.Commit(ctx, cat, pool.Provision{ExternalID: "x-" + id, Answer: []byte("a"), Licenses: []pool.License{l}})
	if err != nil || !ok {
		t.Fatalf("commit: %v %v", ok, err)
	}
}

func join(t *testing.T, s *pool.Store, id string, known uint64) (*pool.Agent, pool.Joined) {
	t.Helper()
	a, j, err := s.Join(t.Context(), id, known)
	if err != nil {
		t.Fatal(err)
	}
	return a, j
}

// invariant checks free + held = useCount per credit.
func invariant(t *testing.T, s *pool.Store, license string) pool.Totals {
	t.Helper()
	tot, err := s.Totals(t.Context(), license)
	if err != nil {
		t.Fatal(err)
	}
	for c, cr := range tot.License.Credits {
		sum := tot.Free[c]
		for _, h := range tot.Holdings {
			sum += h.Held[c]
		}
		if sum != cr.UseCount {
			t.Fatalf("credit %d: free %d + held = %d, want useCount %d", c, tot.Free[c], sum, cr.UseCount)
		}
	}
	return tot
}

// TestLeaseNeverOverspends races three agents, four goroutines each, for blocks of one license
// until it is empty: every unit is leased exactly once.
func TestLeaseNeverOverspends(t *testing.T) {
	const total = 5_000
	s := licensed(t, 3_000, 2_000)
	var leased atomic.Int64
	var wg sync.WaitGroup
	for i := range 3 {
		a, _ := join(t, s, fmt.Sprintf("agent-%d", i), 0)
		var mu sync.Mutex // one agent's block operations come from one goroutine at a time
		loc := pool.Local{Moved: make([]int64, 2), Used: make([]int64, 2)}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					cr, n, err := a.Lease(context.Background(), "L", 37, 37, time.Now(), loc)
					if err == nil {
						loc.Moved[cr] += n
					}
					mu.Unlock()
					if errors.Is(err, pool.ErrEmpty) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					leased.Add(n)
				}
			}()
		}
	}
	wg.Wait()
	if got := leased.Load(); got != total {
		t.Fatalf("leased %d units of %d", got, total)
	}
	tot := invariant(t, s, "L")
	if tot.Free[0] != 0 || tot.Free[1] != 0 {
		t.Fatalf("free after exhaustion: %v", tot.Free)
	}
}

// TestSettle returns what an agent's log no longer holds, and takes as debt what it consumed
// beyond what the pool said it held.
func TestSettle(t *testing.T) {
	s := licensed(t, 1_000)
	a, _ := join(t, s, "a", 0)
	ctx := t.Context()
	loc := pool.Local{Moved: []int64{0}, Used: []int64{0}}
	cr, n, err := a.Lease(ctx, "L", 400, 400, time.Now(), loc)
	if err != nil || cr != 0 || n != 400 {
		t.Fatalf("lease: %d %d %v", cr, n, err)
	}
	// A lease the log did not record: the next lease is refused until Settle returns it.
	if _, _, err := a.Lease(ctx, "L", 100, 100, time.Now(), loc); !errors.Is(err, pool.ErrOutOfStep) {
		t.Fatalf("lease out of step: %v", err)
	}
	st, err := a.Settle(ctx, "L", loc)
	if err != nil || st.Returned[0] != 400 {
		t.Fatalf("settle: %+v %v", st, err)
	}
	if tot := invariant(t, s, "L"); tot.Free[0] != 1_000 {
		t.Fatalf("free %d after settle, want 1000", tot.Free[0])
	}
	loc.Moved[0] = 0
	if _, n, err = a.Lease(ctx, "L", 300, 300, time.Now(), loc); err != nil || n != 300 {
		t.Fatalf("lease: %d %v", n, err)
	}
	loc.Moved[0], loc.Used[0] = 300, 120
	// The log returns 100 of the unconsumed 180.
	loc.Moved[0] = 200
	if st, err = a.Settle(ctx, "L", loc); err != nil || st.Returned[0] != 100 {
		t.Fatalf("settle return: %+v %v", st, err)
	}
	tot := invariant(t, s, "L")
	if h := tot.Holdings["a"]; tot.Free[0] != 800 || h.Held[0] != 200 || h.Used[0] != 120 {
		t.Fatalf("after return: free %d holding %+v", tot.Free[0], h)
	}
}

// TestEvict refuses a live agent, fences a dead one and releases what it had not reported
// consumed; the fenced incarnation can neither lease nor settle, and joins again as fenced.
func TestEvict(t *testing.T) {
	s := licensed(t, 1_000)
	ctx := t.Context()
	a, j := join(t, s, "a", 0)
	loc := pool.Local{Moved: []int64{0}, Used: []int64{0}}
	if _, _, err := a.Lease(ctx, "L", 500, 500, time.Now(), loc); err != nil {
		t.Fatal(err)
	}
	loc = pool.Local{Moved: []int64{500}, Used: []int64{200}}
	if _, err := a.Settle(ctx, "L", loc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Evict(ctx, "a"); !errors.Is(err, pool.ErrAlive) {
		t.Fatalf("evict of a live agent: %v", err)
	}
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Evict(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Released["L"] != 300 || ev.Epoch != j.Epoch+1 {
		t.Fatalf("evicted: %+v, want 300 released at epoch %d", ev, j.Epoch+1)
	}
	if ev2, err := s.Evict(ctx, "a"); err != nil || ev2.Released["L"] != 0 {
		t.Fatalf("second evict: %+v %v", ev2, err)
	}
	if tot := invariant(t, s, "L"); tot.Free[0] != 800 {
		t.Fatalf("free %d after evict, want 800", tot.Free[0])
	}
	if _, _, err := a.Lease(ctx, "L", 10, 10, time.Now(), pool.Local{Moved: []int64{200}, Used: []int64{200}}); !errors.Is(err, pool.ErrFenced) {
		t.Fatalf("lease by the evicted incarnation: %v", err)
	}
	// It comes back: its log says 500 moved, 250 consumed (50 past its last report).
	b, j2 := join(t, s, "a", j.Epoch)
	if !j2.Fenced || j2.Epoch <= ev.Epoch {
		t.Fatalf("rejoin: %+v", j2)
	}
	st, err := b.Settle(ctx, "L", pool.Local{Moved: []int64{250}, Used: []int64{250}})
	if err != nil || st.Debt[0] != 50 {
		t.Fatalf("settle after fencing: %+v %v", st, err)
	}
	if tot := invariant(t, s, "L"); tot.Free[0] != 750 {
		t.Fatalf("free %d after the debt, want 750", tot.Free[0])
	}
	if _, err := s.Evict(ctx, "nobody"); !errors.Is(err, pool.ErrNotFound) {
		t.Fatalf("evict of an unknown agent: %v", err)
	}
}

// TestCommitRace: two provisions planned from one catalogue for the same owner and item; one
// commits, the other must plan again.
func TestCommitRace(t *testing.T) {
	s := licensed(t, 10)
	cat, err := s.Catalogue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id, ext string) pool.Provision {
		now := time.Now().UTC()
		return pool.Provision{ExternalID: ext, Answer: []byte(ext), Licenses: []pool.License{{ID: id, Owner: "users/u", Item: "P",
			ProductID: "p", Credits: []pool.Credit{{ID: "c", From: now, Open: true, UseCount: 5}}}}}
	}
	ok1, err1 := s.Commit(t.Context(), cat, mk("A", "e1"))
	ok2, err2 := s.Commit(t.Context(), cat, mk("B", "e2"))
	if err1 != nil || err2 != nil || !ok1 || ok2 {
		t.Fatalf("commits: %v %v, %v %v; want the first only", ok1, err1, ok2, err2)
	}
	if ok, err := s.Commit(t.Context(), cat, mk("A", "e1")); err != nil || ok {
		t.Fatalf("the same externalId again: %v %v", ok, err)
	}
	if v, err := s.Transaction(t.Context(), "e1"); err != nil || string(v) != "e1" {
		t.Fatalf("transaction: %q %v", v, err)
	}
}

// TestQuorumLoss: with two of three members stopped, a lease fails with ErrUnavailable within
// the operation timeout; with them back it succeeds.
func TestQuorumLoss(t *testing.T) {
	faults.Lock()
	defer faults.Unlock()
	c := etcd(t)
	s := open(t, c, prefix(t))
	provision(t, s, "L", 100)
	a, _ := join(t, s, "a", 0)
	c.Stop(1)
	c.Stop(2)
	_, _, err := a.Lease(t.Context(), "L", 10, 10, time.Now(), pool.Local{Moved: []int64{0}, Used: []int64{0}})
	if !errors.Is(err, pool.ErrUnavailable) {
		t.Fatalf("lease without quorum: %v", err)
	}
	if err := c.Restart(30*time.Second, 1, 2); err != nil {
		t.Fatal(err)
	}
	// The lease that timed out did not happen (no quorum took it), so the log and the pool agree.
	var n int64
	for range 50 { // the client reconnects to the members that came back
		_, n, err = a.Lease(t.Context(), "L", 10, 10, time.Now(), pool.Local{Moved: []int64{0}, Used: []int64{0}})
		if !errors.Is(err, pool.ErrUnavailable) {
			break
		}
	}
	if err != nil || n != 10 {
		t.Fatalf("lease after the quorum came back: %d %v", n, err)
	}
	invariant(t, s, "L")
}

// TestLeaseShrinksAsThePoolDrains: past the floor, a lease takes at most a quarter of what is
// free, so a large lease sized to a fast agent's rate leaves most of a draining pool to the
// others; the floor itself is always leased while free allows.
func TestLeaseShrinksAsThePoolDrains(t *testing.T) {
	s := licensed(t, 1_000)
	a, _ := join(t, s, "a", 0)
	loc := pool.Local{Moved: []int64{0}, Used: []int64{0}}
	for _, step := range []struct{ want, floor, got int64 }{
		{10_000, 100, 250}, // a quarter of 1,000
		{10_000, 100, 187}, // a quarter of 750
		{10_000, 400, 400}, // the floor
		{50, 50, 50},       // at or below the floor: what is asked
		{10_000, 100, 100}, // 113 free: the floor
		{10_000, 100, 13},  // 13 free: what is left
	} {
		_, n, err := a.Lease(t.Context(), "L", step.want, step.floor, time.Now(), loc)
		if err != nil || n != step.got {
			t.Fatalf("lease of %d (floor %d): %d %v, want %d", step.want, step.floor, n, err, step.got)
		}
		loc.Moved[0] += n
	}
	if _, _, err := a.Lease(t.Context(), "L", 100, 100, time.Now(), loc); !errors.Is(err, pool.ErrEmpty) {
		t.Fatalf("lease from an empty pool: %v", err)
	}
}
