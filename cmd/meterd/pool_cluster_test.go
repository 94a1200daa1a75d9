package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

// The shared-pool test in the manner of Jepsen: three real meterd processes spend one pooled
// license over a real 3-member etcd cluster until it is exhausted, while the test SIGKILLs and
// restarts agents, stops, kills and restarts etcd members, and takes the quorum away. Every
// client keeps its own history (each request, its Idempotency-Key, and the answer if one came);
// afterwards requests whose answer was lost are asked again under the same key, which returns
// the first answer if it was recorded, and the history is checked:
//
//	granted ≤ pool                                  never overspent
//	granted ≥ pool − agents × POOL_BLOCK            once exhausted, little is stranded
//	meterctl report over every usage database = granted   each unit billed exactly once

const (
	poolAgents  = 3
	poolBlock   = 100
	poolWorkers = 4 // clients per agent
)

// poolRounds is how many faults the test injects (METERD_POOL_ROUNDS overrides; CI runs 5).
func poolRounds(t *testing.T) int {
	if s := os.Getenv("METERD_POOL_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 5
}

// startPool starts an etcd cluster of members on loopback in dir, closed when the test ends,
// and makes the usage key every agent of the pool signs with, so that one report reads them all.
func startPool(t *testing.T, dir string, members int, log *harness.LogBuffer) (cluster *harness.EtcdCluster, key string) {
	t.Helper()
	bin := harness.NeedTool(t, "etcd", "etcd-server")
	cluster, err := harness.StartEtcd(bin, filepath.Join(dir, "etcd"), members, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	key = filepath.Join(dir, "usage.key")
	if _, err := meterctl.Run("keygen", "-o", key); err != nil {
		t.Fatal(err)
	}
	return cluster, key
}

// poolAgent is one meterd of the pool; it is restarted on the same data directory after a kill.
type poolAgent struct {
	mu   sync.Mutex
	p    *proc
	data string
	args []string
	down bool
}

func (a *poolAgent) base() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		return ""
	}
	return a.p.Base
}

// history is what the clients know.
type history struct {
	mu       sync.Mutex
	requests int
	granted  int64 // units of 200 answers
	denials  map[string]int
	lost     []lostReq // sent, no answer
	odd      []string
}

type lostReq struct {
	agent int
	key   string
	units int64
}

func (h *history) add(f func(h *history)) {
	h.mu.Lock()
	f(h)
	h.mu.Unlock()
}

type consumeAnswer struct {
	Granted bool   `json:"granted"`
	Units   int64  `json:"units"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
}

var poolHTTP = &http.Client{Timeout: 10 * time.Second}

// consumeOnce sends one keyed consume; ok is false when no answer came.
func consumeOnce(base, key string, units int64) (consumeAnswer, int, bool) {
	body := fmt.Sprintf(`{"owner":"organizations/pool","item":"Shared","units":%d}`, units)
	req, _ := http.NewRequest("POST", base+"/v1/consume", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := poolHTTP.Do(req)
	if err != nil {
		return consumeAnswer{}, 0, false
	}
	defer resp.Body.Close()
	var a consumeAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return consumeAnswer{}, 0, false
	}
	return a, resp.StatusCode, true
}

func TestPoolCluster(t *testing.T) {
	t.Parallel()
	rounds := poolRounds(t)
	pool := int64(rounds+2) * 2_000
	dir := t.TempDir()
	var etcdLog harness.LogBuffer
	cluster, key := startPool(t, dir, 3, &etcdLog)
	endpoints := cluster.Endpoints()[0] + "," + cluster.Endpoints()[1] + "," + cluster.Endpoints()[2]
	agents := make([]*poolAgent, poolAgents)
	for i := range agents {
		a := &poolAgent{data: filepath.Join(dir, fmt.Sprintf("agent%d", i)),
			args: []string{"-pool-endpoints", endpoints, "-pool-block", strconv.Itoa(poolBlock), "-pool-lease-ttl", "2s",
				"-usage-key-file", key, "-usage-write-interval", "20"}}
		a.p = startMeterd(t, a.data, a.args...)
		agents[i] = a
	}
	defer func() {
		for _, a := range agents {
			if !a.down {
				a.p.Kill()
			}
		}
	}()
	ctx := t.Context()
	if _, err := agents[0].p.c.PutProduct(ctx, "shared", client.Product{LicensedItem: "Shared", TrackingMode: client.TrackCallerCount, CreditAmount: 1}); err != nil {
		t.Fatal(err)
	}
	tx, err := agents[1].p.c.Provision(ctx, "organizations/pool", dayOrder("pool-1", "shared", pool))
	if err != nil {
		t.Fatal(err)
	}
	license := tx.Items[0].Licenses[0].ID
	for i, a := range agents { // each agent mirrors the pool's license from its watch
		deadline := time.Now().Add(30 * time.Second)
		for _, err := a.p.c.License(ctx, license); err != nil; _, err = a.p.c.License(ctx, license) {
			if time.Now().After(deadline) {
				t.Fatalf("agent %d does not show license %s: %v", i, license, err)
			}
			time.Sleep(20 * time.Millisecond) // no signal crosses the process boundary
		}
	}

	h := &history{denials: map[string]int{}}
	var seq atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range agents {
		for w := range poolWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(w)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					base := a.base()
					if base == "" {
						time.Sleep(20 * time.Millisecond) // the agent is down: wait for its restart
						continue
					}
					units := 1 + rng.Int64N(5)
					k := fmt.Sprintf("a%d-w%d-%d", i, w, seq.Add(1))
					ans, code, ok := consumeOnce(base, k, units)
					switch {
					case !ok:
						h.add(func(h *history) { h.requests++; h.lost = append(h.lost, lostReq{i, k, units}) })
					case code == 200 && ans.Granted && ans.Units == units:
						h.add(func(h *history) { h.requests++; h.granted += units })
					case code == 409 && !ans.Granted:
						h.add(func(h *history) { h.requests++; h.denials[ans.Reason]++ })
						if ans.Reason == "exhausted" {
							return // this client is done: the pool has nothing it can use
						}
						time.Sleep(20 * time.Millisecond) // pool_unavailable: the quorum is away
					case code == 503:
						h.add(func(h *history) { h.requests++; h.denials["503"]++ })
					default:
						h.add(func(h *history) { h.requests++; h.odd = append(h.odd, fmt.Sprintf("%s: %d %+v", k, code, ans)) })
					}
				}
			}()
		}
	}

	// The faults, one per round, in turn.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	faults := map[string]int{}
	pause := func() { time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond) } // faults land at random moments
	for r := range rounds {
		pause()
		var down []int // etcd members to start again
		switch r % 4 {
		case 0: // kill -9 an agent, restart it
			i := rng.IntN(poolAgents)
			a := agents[i]
			a.mu.Lock()
			a.down = true
			a.mu.Unlock()
			if a.p.Exited() {
				t.Fatalf("agent %d exited by itself:\n%s", i, a.p.log.String())
			}
			syscall.Kill(a.p.Pid(), syscall.SIGKILL)
			a.p.Kill()
			pause()
			p := startMeterd(t, a.data, a.args...)
			a.mu.Lock()
			a.p, a.down = p, false
			a.mu.Unlock()
			faults["agent kill -9"]++
		case 1: // stop an etcd member, restart it
			m := rng.IntN(3)
			cluster.Stop(m)
			down = []int{m}
			faults["etcd member stopped"]++
		case 2: // the quorum away: two members killed
			m := rng.IntN(3)
			cluster.Kill(m)
			cluster.Kill((m + 1) % 3)
			pause()
			down = []int{m, (m + 1) % 3}
			faults["quorum lost"]++
		case 3: // kill -9 an etcd member
			m := rng.IntN(3)
			cluster.Kill(m)
			down = []int{m}
			faults["etcd member kill -9"]++
		}
		if len(down) > 0 {
			pause()
		}
		if err := cluster.Restart(60*time.Second, down...); err != nil {
			t.Fatalf("round %d: %v\n%s", r, err, etcdLog.String())
		}
	}

	// Let every client run into exhaustion.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		close(stop)
		<-done
		t.Fatalf("the clients did not exhaust the pool within 3 minutes after the faults: %d granted of %d", h.granted, pool)
	}
	// Requests whose answer was lost, asked again under their key: the first answer if it was
	// recorded, else a decision now.
	resolved := 0
	for _, l := range h.lost {
		ans, code, ok := consumeOnce(agents[l.agent].base(), l.key, l.units)
		if !ok {
			t.Fatalf("request %s: no answer when asked again", l.key)
		}
		if code == 200 && ans.Granted {
			h.granted += l.units
			resolved++
		}
	}
	if len(h.odd) > 0 {
		t.Fatalf("%d answers neither a grant, a denial nor 503; first: %s", len(h.odd), h.odd[0])
	}
	var dbs []string
	for _, a := range agents {
		a.p.stop(syscall.SIGTERM)
		dbs = append(dbs, filepath.Join(a.data, "usage.db"))
	}
	billed, err := meterctl.Billed(key, dbs...)
	if err != nil {
		t.Fatal(err)
	}
	stranded := pool - h.granted
	figures := fmt.Sprintf("pool history check: %d fault rounds %v; %d requests, %d answers lost (%d of them granted when asked again); "+
		"denials %v; granted %d of %d units (stranded %d, bound %d = %d agents × POOL_BLOCK %d); billed %d\n",
		rounds, faults, h.requests, len(h.lost), resolved, h.denials, h.granted, pool, stranded,
		poolAgents*poolBlock, poolAgents, poolBlock, billed["Shared"])
	fmt.Print(figures)
	// `go test ./...` shows no output of a package that passed; CI names a file to keep it in.
	if path := os.Getenv("METERD_TEST_FIGURES"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.WriteString(figures)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case h.granted > pool:
		t.Fatalf("overspent: %d units granted of a pool of %d", h.granted, pool)
	case stranded > poolAgents*poolBlock:
		t.Fatalf("%d units stranded after exhaustion, more than %d agents × POOL_BLOCK %d", stranded, poolAgents, poolBlock)
	case billed["Shared"] != h.granted:
		t.Fatalf("billed %d units across the usage databases, granted %d", billed["Shared"], h.granted)
	case h.denials["exhausted"] != poolAgents*poolWorkers:
		t.Fatalf("%d clients saw the pool exhausted, want all %d", h.denials["exhausted"], poolAgents*poolWorkers)
	}
}
