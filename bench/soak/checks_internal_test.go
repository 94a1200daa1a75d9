package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// synthetic builds an outcome of a 10-minute run read every 5 s, with each reading made by
// fill from its time since the traffic started.
func synthetic(fill func(at time.Duration, r *reading)) *outcome {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := &outcome{cfg: config{workers: 1, rate: 1, sample: 5 * time.Second}, warmup: 2 * time.Minute,
		start: start, end: start.Add(10 * time.Minute), led: ledgerTotals{units: map[string]int64{}}}
	for at := time.Duration(0); at <= 10*time.Minute; at += 5 * time.Second {
		r := reading{at: start.Add(at), heapInuse: 8 << 20, stateBytes: 18 << 20}
		fill(at, &r)
		o.readings = append(o.readings, r)
	}
	return o
}

func TestHeapCheck(t *testing.T) {
	f := func(name string, heap func(at time.Duration) float64, wantOK bool) {
		t.Helper()
		o := synthetic(func(at time.Duration, r *reading) { r.heapInuse = heap(at) })
		if c := o.heapCheck(); c.ok != wantOK {
			t.Errorf("%s: ok = %v, want %v (%s)", name, c.ok, wantOK, c.measured)
		}
	}
	mib := float64(1 << 20)
	f("flat", func(time.Duration) float64 { return 8 * mib }, true)
	// A GC sawtooth between 8 and 16 MiB: the maxima match.
	f("sawtooth", func(at time.Duration) float64 { return 8*mib + float64(at/time.Second%40)/40*8*mib }, true)
	// Growth during the warm-up (the idempotency table filling) does not count.
	f("warm-up", func(at time.Duration) float64 { return min(8*mib, float64(at)/float64(time.Minute)*4*mib) }, true)
	// A leak of 1 MiB a minute on 8 MiB: +75 % from minute 2-4 to minute 8-10.
	f("leak", func(at time.Duration) float64 { return 8*mib + at.Minutes()*mib }, false)
	// One step of +25 % late in the run.
	f("step", func(at time.Duration) float64 {
		if at < 7*time.Minute {
			return 8 * mib
		}
		return 10 * mib
	}, false)
}

func TestHeapCheckNeedsReadings(t *testing.T) {
	o := synthetic(func(time.Duration, *reading) {})
	o.warmup = 9 * time.Minute // leaves no window before the last fifth
	if c := o.heapCheck(); c.ok || !strings.Contains(c.measured, "too few readings") {
		t.Errorf("got %v %q, want a failure for too few readings", c.ok, c.measured)
	}
}

func TestStateCheck(t *testing.T) {
	f := func(name string, size func(at time.Duration) float64, wantOK bool) {
		t.Helper()
		o := synthetic(func(at time.Duration, r *reading) { r.stateBytes = int64(size(at)) })
		if c := o.stateCheck(); c.ok != wantOK {
			t.Errorf("%s: ok = %v, want %v (%s)", name, c.ok, wantOK, c.measured)
		}
	}
	mib := float64(1 << 20)
	f("plateau", func(time.Duration) float64 { return 18 * mib }, true)
	// Grows to the plateau in the first two thirds, then holds.
	f("fills then holds", func(at time.Duration) float64 { return min(18*mib, at.Minutes()*4*mib) }, true)
	// Pebble's 4 MiB steps: a WAL file filling and recycled every 40 s.
	f("steps", func(at time.Duration) float64 { return 14*mib + float64(at/time.Second%40)/40*4*mib }, true)
	// Truncation stopped: 4 MiB a minute, 13 MiB over the last third.
	f("leak", func(at time.Duration) float64 { return 18*mib + at.Minutes()*4*mib }, false)
}

func TestLagAnd5xxAndStrayChecks(t *testing.T) {
	f := func(name string, fill func(at time.Duration, r *reading), c func(o *outcome) check, wantOK bool) {
		t.Helper()
		if got := c(synthetic(fill)); got.ok != wantOK {
			t.Errorf("%s: ok = %v, want %v (%s)", name, got.ok, wantOK, got.measured)
		}
	}
	lag := func(o *outcome) check { return o.lagCheck() }
	fivexx := func(o *outcome) check { return o.fivexxCheck() }
	stray := func(o *outcome) check { return o.strayCheck() }
	f("lag below", func(at time.Duration, r *reading) { r.lag = float64(at / time.Second % 100) }, lag, true)
	f("lag at limit", func(at time.Duration, r *reading) { r.lag = 2 * writeInterval }, lag, true)
	f("lag once over", func(at time.Duration, r *reading) {
		if at == 5*time.Minute {
			r.lag = 2*writeInterval + 1
		}
	}, lag, false)
	for _, c := range []struct {
		lag  float64
		want bool
	}{{1200, true}, {1201, false}} { // at 10,000 steps a second, 50 ms between writes hold 500
		o := synthetic(func(_ time.Duration, r *reading) { r.lag = c.lag })
		o.cfg.rate = 10000
		if got := o.lagCheck(); got.ok != c.want {
			t.Errorf("lag %v at 10,000 steps/s: ok = %v, want %v (limit %s)", c.lag, got.ok, c.want, got.limit)
		}
	}
	f("no 5xx", func(time.Duration, *reading) {}, fivexx, true)
	f("a 503", func(at time.Duration, r *reading) { r.fivexx = float64(min(1, at/(9*time.Minute))) }, fivexx, false)
	f("no stray", func(time.Duration, *reading) {}, stray, true)
	f("a stray 400", func(at time.Duration, r *reading) { r.unread = 1 }, stray, false)
}

func TestBillingCheck(t *testing.T) {
	f := func(billed, acked map[string]int64, wantOK bool) {
		t.Helper()
		o := &outcome{billed: billed, led: ledgerTotals{units: acked}}
		if c := o.billingCheck(); c.ok != wantOK {
			t.Errorf("billed %v, acknowledged %v: ok = %v, want %v (%s)", billed, acked, c.ok, wantOK, c.measured)
		}
	}
	f(map[string]int64{"A": 10, "B": 4}, map[string]int64{"A": 10, "B": 4}, true)
	f(map[string]int64{"A": 10, "B": 5}, map[string]int64{"A": 10, "B": 4}, false)
	f(map[string]int64{"A": 10}, map[string]int64{"A": 10, "B": 4}, false)
	f(map[string]int64{"A": 10, "B": 4}, map[string]int64{"A": 10}, false)
}

func TestLedgerCountsAGrantOncePerSeq(t *testing.T) {
	l := newLedger()
	l.grant("A", 5, 1, true)
	l.grant("A", 5, 1, true) // a keyed replay: the first answer, the same seq
	l.grant("A", 5, 7, true) // the key expired and was granted afresh
	l.grant("A", 3, 2, false)
	l.grant("B", 2, 3, false)
	got := l.snapshot()
	if got.units["A"] != 13 || got.units["B"] != 2 || got.replays != 1 {
		t.Errorf("units %v, replays %d; want A 13, B 2, 1 replay", got.units, got.replays)
	}
}

func TestIdleAllows(t *testing.T) {
	base := idleState{goroutines: 20, fds: 22, ssts: 1}
	f := func(g, fds float64, ssts int, want bool) {
		t.Helper()
		if got := base.allows(reading{goroutines: g, fds: fds, sstFiles: ssts}); got != want {
			t.Errorf("goroutines %v, fds %v, tables %d: allows = %v, want %v", g, fds, ssts, got, want)
		}
	}
	f(20, 22, 1, true)
	f(23, 24, 1, true)
	f(24, 22, 1, false)
	f(20, 25, 1, false)
	f(20, 27, 4, true) // three new tables, each held open by Pebble
	f(20, 28, 4, false)
}

func TestExtra(t *testing.T) {
	got := extra([]string{"socket", "socket", "DATA_DIR/wal/LOCK"}, []string{"socket", "socket", "socket", "DATA_DIR/wal/LOCK", "DATA_DIR/usage.db"})
	if strings.Join(got, ",") != "socket,DATA_DIR/usage.db" {
		t.Errorf("extra = %v, want [socket DATA_DIR/usage.db]", got)
	}
}

func TestStrayLog(t *testing.T) {
	var out bytes.Buffer
	s := &strayLog{out: &out}
	s.Write([]byte("2026/01/01 other line\n"))
	s.Write([]byte(`2026/01/01 Unsolicited response received on idle HTTP channel starting with "HTTP/1.1 400"` + "\n"))
	s.Write([]byte(`2026/01/01 Unsolicited response received on idle HTTP channel starting with "HTTP/1.1 408"` + "\n"))
	n, first := s.count()
	if n != 2 || !strings.Contains(first, "400") {
		t.Errorf("count = %d, %q; want 2 and the first (400)", n, first)
	}
	if strings.Count(out.String(), "\n") != 3 {
		t.Errorf("every line must pass through, got %q", out.String())
	}
}

func TestConfigWarmup(t *testing.T) {
	f := func(args string, wantWarmup, wantTTL time.Duration) {
		t.Helper()
		cfg, err := parseFlags(strings.Fields(args), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		if cfg.warmup() != wantWarmup || cfg.idemTTL != wantTTL {
			t.Errorf("%s: warm-up %s, TTL %s; want %s, %s", args, cfg.warmup(), cfg.idemTTL, wantWarmup, wantTTL)
		}
	}
	f("-duration 10m", 2*time.Minute, time.Minute)
	f("-duration 1m", 17*time.Second, 6*time.Second) // TTL 6s + 1s expiry + 2 readings of 5s, over a fifth (12s)
	f("-duration 30s -sample 1s", 8*time.Second, 5*time.Second)
	f("-duration 20m -idempotency-ttl 5m", 5*time.Minute+30*time.Second+10*time.Second, 5*time.Minute)
	if _, err := parseFlags([]string{"-duration", "1m", "-idempotency-ttl", "1h"}, &bytes.Buffer{}); err == nil {
		t.Errorf("a TTL longer than the run must be refused: the heap could not level off")
	}
}

func TestDescribeStray(t *testing.T) {
	line := `2026/12/01 09:51:24 Unsolicited response received on idle HTTP channel starting with "HTTP/1.1 400 Bad Request\r\nServer: meterd\r\nContent-Length: 114\r\n\r\n{\"error\":\"bad_request\",\"message\":\"malformed HTTP request: read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout\"}"; err=<nil>`
	want := "HTTP/1.1 400 Bad Request: malformed HTTP request: read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout"
	if got := describeStray(line); got != want {
		t.Errorf("describeStray = %q, want %q", got, want)
	}
	if got := describeStray("something else"); got != "something else" {
		t.Errorf("describeStray of another line = %q, want it unchanged", got)
	}
}

func TestIdleChecks(t *testing.T) {
	o := synthetic(func(time.Duration, *reading) {})
	o.base = idleState{goroutines: 20, fds: 4, files: []string{"anon_inode", "socket", "DATA_DIR/wal/LOCK", "DATA_DIR/usage.db"}}
	o.idle = idleState{goroutines: 23, fds: 8, ssts: 1, files: []string{"anon_inode", "socket", "socket", "socket",
		"DATA_DIR/wal/LOCK", "DATA_DIR/usage.db", "DATA_DIR/wal/000007.sst", "socket"}}
	if c := o.goroutineCheck(); !c.ok {
		t.Errorf("goroutines 20 → 23 must pass (slack %d): %s", goroutineSlack, c.measured)
	}
	c := o.fdCheck()
	if c.ok {
		t.Fatalf("fds 4 → 8 with one new table must fail (4 + %d + 1): %s", fdSlack, c.measured)
	}
	if !strings.Contains(c.measured, "extra: socket, socket, DATA_DIR/wal/000007.sst, socket") {
		t.Errorf("the failure must name the extra descriptors: %s", c.measured)
	}
	o.idle.goroutines = 24
	if c := o.goroutineCheck(); c.ok {
		t.Errorf("goroutines 20 → 24 must fail: %s", c.measured)
	}
}
