package core_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/valyala/fasthttp"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

// benchEngine opens an engine on a temporary directory with a license that never runs out.
func benchEngine(b *testing.B, durability config.Durability, usage bool) (*core.Engine, string) {
	b.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.Durability = b.TempDir(), durability
	if !usage {
		cfg.UsageDatabase = config.UsageOff
	}
	e, err := core.Open(cfg, core.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "Item", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	order := orderOf("bench", "p", 1_000_000_000, now.Add(-time.Hour), now.Add(24*time.Hour))
	if _, err := e.Provision("organizations/o", order, core.Signed{}); err != nil {
		b.Fatal(err)
	}
	return e, "organizations/o"
}

// BenchmarkDurableConsume compares Engine.Consume under DURABILITY = sync (decide, append,
// group-committed fsync, answer; the applier checkpointing and truncating behind) with raw
// Pebble group-committed fsyncs of one 120-byte record, at the same number of concurrent
// writers, in one run. The usage database is off here: what export costs the consume path is
// measured on its own (bench/load, scenario compare, usage on vs off).
//
//	go test ./core -run '^$' -bench DurableConsume -benchtime 3s -count 5 | tee new.txt
//	benchstat -col /impl new.txt
func BenchmarkDurableConsume(b *testing.B) {
	for _, writers := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("impl=pebble/writers=%d", writers), func(b *testing.B) {
			db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietPebble{}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var keys atomic.Uint64
			value := make([]byte, 120)
			runWriters(b, writers, func() {
				var key [9]byte
				binary.BigEndian.PutUint64(key[1:], keys.Add(1))
				batch := db.NewBatch()
				_ = batch.Set(key[:], value, nil)
				if err := batch.Commit(pebble.Sync); err != nil {
					b.Error(err)
				}
				_ = batch.Close()
			})
		})
		b.Run(fmt.Sprintf("impl=engine/writers=%d", writers), func(b *testing.B) {
			e, owner := benchEngine(b, config.DurabilitySync, false)
			runWriters(b, writers, func() {
				req := core.ConsumeRequest{Owner: owner, Item: "Item", Units: 1}
				var ans core.Answer
				if err := e.Consume(&req, &ans); err != nil || !ans.Granted {
					b.Errorf("consume: %+v %v", ans, err)
				}
			})
			reportGroups(b, e)
		})
	}
}

// reportGroups reports the mean WAL group (records per group commit) and the mean time from
// a group's apply to its fsync's return: what explains a ratio against raw Pebble.
func reportGroups(b *testing.B, e *core.Engine) {
	mfs, err := e.Metrics().Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 {
				continue
			}
			switch mf.GetName() {
			case "meterd_wal_group_size":
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "records/group")
			case "meterd_wal_sync_duration_seconds":
				b.ReportMetric(1e6*h.GetSampleSum()/float64(h.GetSampleCount()), "group-us")
			}
		}
	}
}

// runWriters runs op b.N times from exactly n goroutines and reports ops/s and the 99th
// percentile latency.
func runWriters(b *testing.B, n int, op func()) {
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range n {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				t := time.Now()
				op()
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// BenchmarkHandleConsume runs the HTTP consume path without a network: fasthttp's request
// context in, JSON grant out, through parsing, the decision, the WAL append (async, so the
// fsync is not what is measured) and the metrics. A grant allocates nothing.
//
//	go test ./core -run '^$' -bench HandleConsume -benchmem -count 10 | tee new.txt
func BenchmarkHandleConsume(b *testing.B) {
	e, owner := benchEngine(b, config.DurabilityAsync, false)
	srv := httpapi.NewServer(e, "t", nil)
	body := []byte(`{"owner":"` + owner + `","item":"Item","units":1,"user":"alice","host":"ws-17"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := newRequestCtx(body)
		for pb.Next() {
			ctx.Request.SetBody(body)
			ctx.Response.Reset()
			srv.Handle(ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
		}
	})
}

func newRequestCtx(body []byte) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/consume")
	req.Header.SetHost("127.0.0.1:8787")
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	return ctx
}

// The consume handler allocates nothing on a grant; plain `go test` keeps it so. Not parallel:
// AllocsPerRun counts the whole process's allocations.
func TestHandleConsumeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; make test runs this without -race")
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Durability, cfg.UsageDatabase = t.TempDir(), config.DurabilityAsync, config.UsageOff
	e, err := core.Open(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "Item", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := e.Provision("organizations/o", orderOf("x", "p", 1_000_000, now.Add(-time.Hour), now.Add(time.Hour)), core.Signed{}); err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(e, "t", nil)
	body := []byte(`{"owner":"organizations/o","item":"Item","units":1,"user":"alice"}`)
	ctx := newRequestCtx(body)
	serve := func() {
		ctx.Request.SetBody(body)
		ctx.Response.Reset()
		srv.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	for range 100 {
		serve() // warm pools, metric children, Pebble's batch buffers
	}
	if allocs := testing.AllocsPerRun(1000, serve); allocs > 0 {
		t.Fatalf("%v allocations per granted consume, want 0", allocs)
	}
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
