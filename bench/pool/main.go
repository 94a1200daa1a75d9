// Command pool measures a shared pool: consume through a pooled license against a local one in
// the same run, in alternating rounds on the same kind of engine, and the rate at which a real
// 3-member etcd cluster (Debian's etcd, started here on loopback) sustains block leases, one
// agent at a time and several at once.
//
//	go -C bench run ./pool -rounds 6 -block 1000
//
// The consume rounds run the engine in process (core.Open, no HTTP), with DURABILITY=async so
// that the WAL's fsync, which both sides share, does not hide what the pool costs a decision.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
	"github.com/meterd/meterd/core/pool"
)

func main() {
	rounds := flag.Int("rounds", 6, "alternating rounds of pooled and local consume")
	block := flag.Int("block", 1000, "POOL_BLOCK")
	dur := flag.Duration("round", 3*time.Second, "length of one consume round")
	workers := flag.Int("workers", 8, "goroutines consuming")
	leaseFor := flag.Duration("lease", 3*time.Second, "length of each lease-rate measurement")
	flag.Parse()

	bin, err := exec.LookPath("etcd")
	if err != nil {
		log.Fatal("etcd not installed (apt-get install etcd-server)")
	}
	dir, err := os.MkdirTemp("", "meterd-bench-pool-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cluster, err := harness.StartEtcd(bin, dir+"/etcd", 3, &harness.LogBuffer{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	eps := cluster.Endpoints()

	pooled := engine(dir+"/pooled", eps, *block)
	local := engine(dir+"/local", nil, *block)
	for name, e := range map[string]*core.Engine{"pooled": pooled, "local": local} {
		if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "Item", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
			log.Fatal(name+": ", err)
		}
		from, until := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
		if _, err := e.Provision("organizations/o", core.Order{ExternalID: "bench", Items: []core.OrderItem{{ProductID: "p",
			Quantity: 1_000_000_000, ValidFrom: &from, ValidUntil: &until}}}, core.Signed{}); err != nil {
			log.Fatal(name+": ", err)
		}
	}
	fmt.Printf("## Shared pool: consume through a pooled license vs a local one (POOL_BLOCK = %d)\n\n", *block)
	fmt.Printf("`go -C bench run ./pool -rounds %d -block %d -round %s -workers %d`, %s, engine in process, DURABILITY=async, %d goroutines, 1 unit a call; rounds alternate.\n\n",
		*rounds, *block, *dur, *workers, time.Now().UTC().Format("2006-01-02"), *workers)
	fmt.Println("| round | local decisions/s | pooled decisions/s | pooled / local |")
	fmt.Println("| --- | --- | --- | --- |")
	var ratios []float64
	for r := range *rounds {
		l := rate(local, *workers, *dur)
		p := rate(pooled, *workers, *dur)
		ratios = append(ratios, p/l)
		fmt.Printf("| %d | %.0f | %.0f | %.3f |\n", r+1, l, p, p/l)
	}
	slices.Sort(ratios)
	fmt.Printf("\nMedian pooled / local: **%.3f** (target ≥ 0.9).\n\n", ratios[len(ratios)/2])
	pooled.Close()
	local.Close()

	fmt.Println("## Block leases etcd sustains (3 members, loopback, one license)")
	fmt.Println()
	fmt.Println("| agents leasing at once | leases/s |")
	fmt.Println("| --- | --- |")
	for _, n := range []int{1, 4, 16} {
		fmt.Printf("| %d | %.0f |\n", n, leases(eps, n, *leaseFor))
	}
}

func engine(dir string, eps []string, block int) *core.Engine {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Durability = config.DurabilityAsync
	cfg.UsageWriteInterval = 10_000
	cfg.PoolBlock = block
	if eps != nil {
		cfg.PoolEndpoints = eps[0] + "," + eps[1] + "," + eps[2]
	}
	e, err := core.Open(cfg, core.Options{PoolPrefix: "bench/"})
	if err != nil {
		log.Fatal(err)
	}
	return e
}

// rate consumes 1 unit a call from workers goroutines for d and returns grants per second.
func rate(e *core.Engine, workers int, d time.Duration) float64 {
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := core.ConsumeRequest{Owner: "organizations/o", Item: "Item", Units: 1}
			var ans core.Answer
			var k int64
			for time.Now().Before(stop) {
				for range 256 {
					if err := e.Consume(&req, &ans); err != nil || !ans.Granted {
						log.Fatalf("consume: %+v %v", ans, err)
					}
					k++
				}
			}
			n.Add(k)
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// leases measures block leases of one unit each by agents agents for d, each agent leasing one
// block after another as the refiller does.
func leases(eps []string, agents int, d time.Duration) float64 {
	st, err := pool.Open(pool.Config{Endpoints: eps, Prefix: fmt.Sprintf("leases-%d/", agents)})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.PutProduct(ctx, pool.Product{ID: "p", Name: "P", LicensedItem: "P", Mode: 2, CreditAmount: 1},
		func(*pool.Product, *pool.Catalogue) error { return nil }); err != nil {
		log.Fatal(err)
	}
	cat, err := st.Catalogue(ctx)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now().UTC()
	lic := pool.License{ID: "L", Owner: "o", Item: "P", ProductID: "p", Credits: []pool.Credit{{ID: "c", From: now.Add(-time.Hour), Open: true, UseCount: 1 << 40}}}
	if ok, err := st.Commit(ctx, cat, pool.Provision{ExternalID: "x", Answer: []byte("-"), Licenses: []pool.License{lic}}); err != nil || !ok {
		log.Fatal("commit ", ok, err)
	}
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range agents {
		a, _, err := st.Join(ctx, fmt.Sprintf("agent-%d", i), 0)
		if err != nil {
			log.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc := pool.Local{Moved: []int64{0}, Used: []int64{0}}
			for time.Now().Before(stop) {
				_, u, err := a.Lease(ctx, "L", 1, 1, time.Now(), loc)
				if errors.Is(err, pool.ErrConflict) {
					continue
				}
				if err != nil {
					log.Fatal(err)
				}
				loc.Moved[0] += u
				n.Add(1)
			}
			a.Leave(ctx)
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}
