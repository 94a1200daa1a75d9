package main_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bounds the abuse suite holds the agent to. The issue that asked for the suite states the
// p99; the memory bounds are an order of magnitude under what the attacks cost before the
// defence (64 declared 4 MB bodies: +258 MiB), and well above what the agent needs (RSS
// about 40 MiB idle, 60–90 MiB holding 1,200 connections).
const (
	legitP99Bound   = 100 * time.Millisecond
	rssBound        = 200 << 20
	declaredGrowth  = 32 << 20 // RSS growth while the declared bodies hang
	legitPace       = 2 * time.Millisecond
	phaseMinimum    = 2 * time.Second // so each phase has about 1,000 legitimate samples
	slowHeaderConns = 1000
	slowBodyConns   = 200
	declaredConns   = 64
	floodExtra      = 300 // connections past MAX_CONNS
)

// TestAbuse starts the real agent and, while one client keeps consuming and timing its
// answers, runs each attack of a hostile page or local process in turn. The client's
// consumes must all succeed with p99 under 100 ms, RSS must stay under its bounds, every
// attack connection must be closed within its timeout, and the license must have lost
// exactly the units the client was granted.
//
// Unlike the other tests here it does not call t.Parallel, so that it runs before them and
// alone: the crash tests' sixteen clients and race-detector agents would add delays of their
// own to the latencies and closing times it bounds.
func TestAbuse(t *testing.T) {
	cfg := abuseConfig{header: time.Second, body: 2 * time.Second, idle: 3 * time.Second, maxConns: 1200, maxKeys: 3000}
	raiseFileLimit(t, uint64(cfg.maxConns+floodExtra+slowHeaderConns+256))
	args := append([]string{"-durability", "async"}, cfg.flags()...)
	p, err := startBin(t, plainBin, t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(syscall.SIGTERM)
	addr := strings.TrimPrefix(p.Base, "http://")
	_, port, _ := strings.Cut(addr, ":")
	x := target{addr: addr, port: port, license: p.provision(1_000_000), token: p.token(), cfg: cfg}
	p.c.CloseIdle() // so that only the legitimate client stays connected

	rss := startRSS(p.Pid())
	defer rss.halt()
	client, err := startLegit(p.Base, x.license, legitPace)
	if err != nil {
		t.Fatal(err)
	}
	phases := []struct {
		name   string
		attack func() string
	}{
		{"none", func() string { return "the client alone" }},
		{"rebinding Host and Origin", func() string { return rebinding(t, x) }},
		{"slow headers", func() string {
			return slowAttack(t, x, "slow headers", slowHeaderConns, "POST /v1/consume HTTP/1.1\r\nHost: "+addr+"\r\nContent-Ty", cfg.header)
		}},
		{"slow bodies", func() string {
			return slowAttack(t, x, "slow bodies", slowBodyConns, "POST /v1/consume HTTP/1.1\r\nHost: "+addr+
				"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lic", cfg.body)
		}},
		{"declared-but-absent bodies", func() string { return declaredBodies(t, x, declaredConns) }},
		{"connection flood", func() string { return flood(t, x, cfg.maxConns+floodExtra) }},
		{"idempotency-key flood", func() string { return keyFlood(t, x) }},
		{"malformed requests carrying the token", func() string { return malformed(t, x) }},
	}
	var report []string
	for _, ph := range phases {
		waitForConns(t, addr, 1) // the attacks before have let go: only the client is connected
		before := rss.max(time.Now().Add(-200*time.Millisecond), time.Now())
		start := time.Now()
		what := ph.attack()
		if rest := phaseMinimum - time.Since(start); rest > 0 {
			time.Sleep(rest)
		}
		end := time.Now()
		ss := client.between(start, end)
		p99, peak := percentile(ss, 0.99), rss.max(start, end)
		report = append(report, fmt.Sprintf("%-40s legit %5d consumes, p50 %6v p99 %6v max %6v; RSS %3d MiB before, peak %3d MiB; %s",
			ph.name, len(ss), percentile(ss, 0.5).Round(10*time.Microsecond), p99.Round(10*time.Microsecond),
			percentile(ss, 1).Round(10*time.Microsecond), before>>20, peak>>20, what))
		if p99 > legitP99Bound {
			t.Errorf("%s: legitimate p99 %v, over %v", ph.name, p99, legitP99Bound)
		}
		if peak > rssBound {
			t.Errorf("%s: RSS peaked at %d MiB, over %d MiB", ph.name, peak>>20, rssBound>>20)
		}
		if ph.name == "declared-but-absent bodies" && peak-before > declaredGrowth {
			t.Errorf("%s: RSS grew %d MiB, over %d MiB", ph.name, (peak-before)>>20, declaredGrowth>>20)
		}
	}
	client.halt()
	t.Logf("meterd %s under attack (legitimate client: 1 unit every %v on one keep-alive connection):\n%s",
		strings.Join(args, " "), legitPace, strings.Join(report, "\n"))

	if len(client.failures) > 0 {
		t.Errorf("%d legitimate consumes failed, the first: %s", len(client.failures), client.failures[0])
	}
	if got, want := p.consumed(x.license), client.granted(); got != want {
		t.Errorf("the license lost %d units; the client was granted %d: the attacks spent units", got, want)
	}
	if strings.Contains(p.log.String(), x.token[:16]) || strings.Contains(p.log.String(), x.token[16:32]) {
		t.Errorf("meterd's log holds the admin token")
	}
}

// waitForConns waits until meterd holds at most n connections besides the one asking, as
// /metrics tells (there is no other signal from another process).
func waitForConns(t *testing.T, addr string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for metricValue(t, addr, "meterd_connections_open") > float64(n+1) {
		if time.Now().After(deadline) {
			t.Fatalf("meterd still holds %v connections", metricValue(t, addr, "meterd_connections_open"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
