package core_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/shard"
	"github.com/meterd/meterd/wal"
)

// memEngine opens an engine whose WAL lives on fs (Pebble's in-memory filesystems), with the
// usage database off: SQLite is not on fs, so a simulated crash cannot cover it.
func memEngine(t *testing.T, fs vfs.FS) *core.Engine {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageDatabase = "/data", config.UsageOff
	e, err := core.Open(cfg, core.Options{FS: fs})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return e
}

// provisionEngine creates a caller-count license of units and returns its id.
func provisionEngine(t *testing.T, e *core.Engine, units int) string {
	t.Helper()
	if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "Item", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tx, err := e.Provision("organizations/o", orderOf("o-1", "p", int64(units), now.Add(-time.Hour), now.Add(time.Hour)), core.Signed{})
	if err != nil {
		t.Fatal(err)
	}
	return tx.Items[0].License.ID
}

func consumed(t *testing.T, e *core.Engine, id string) int64 {
	t.Helper()
	l, err := e.License(id)
	if err != nil {
		t.Fatal(err)
	}
	return l.Consumed()
}

func isSync(op errorfs.Op) bool {
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return true
	}
	return false
}

// An fsync that fails acknowledges nothing and gives the units back; the engine stays
// unavailable (503) and says why.
func TestFsyncFailure(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if failing.Load() && isSync(op) {
			return errorfs.ErrInjected
		}
		return nil
	}))
	e := memEngine(t, fs)
	id := provisionEngine(t, e, 100)
	var ans core.Answer
	if err := e.Consume(&core.ConsumeRequest{License: id, Units: 10}, &ans); err != nil || !ans.Granted {
		t.Fatalf("healthy consume: %+v %v", ans, err)
	}
	failing.Store(true)
	for i := range 3 {
		ans = core.Answer{}
		err := e.Consume(&core.ConsumeRequest{License: id, Units: 7, IdempotencyKey: fmt.Sprint("k", i)}, &ans)
		if !errors.Is(err, core.ErrUnavailable) || ans.Granted {
			t.Fatalf("consume %d with fsync failing: %+v %v, want ErrUnavailable and no grant", i, ans, err)
		}
	}
	items := []core.BatchItem{
		{Req: core.ConsumeRequest{License: id, Units: 1}},
		{Req: core.ConsumeRequest{License: id, Units: 2, IdempotencyKey: "b-grant"}},
		{Req: core.ConsumeRequest{License: id, Units: 1000, IdempotencyKey: "b-deny"}},
		{Req: core.ConsumeRequest{License: id, Units: 1000}}, // a keyless denial: not logged
	}
	if err := e.ConsumeBatch(items); err != nil {
		t.Fatal(err)
	}
	for i, it := range items[:3] {
		if !errors.Is(it.Err, core.ErrUnavailable) || it.Ans != (core.Answer{}) {
			t.Fatalf("batch item %d with fsync failing: %+v %v, want ErrUnavailable and no answer", i, it.Ans, it.Err)
		}
	}
	if it := items[3]; it.Err != nil || it.Ans.Granted || it.Ans.Outcome != shard.Exhausted {
		t.Fatalf("keyless denial in the failed batch: %+v %v, want its denial", it.Ans, it.Err)
	}
	if got := consumed(t, e, id); got != 10 {
		t.Fatalf("consumed %d after failed appends, want the 10 of the healthy one", got)
	}
	if n := metricValue(t, e, "meterd_idempotency_keys"); n != 0 {
		t.Fatalf("%v keys remembered from failed requests, want 0: a retry must be decided afresh", n)
	}
	if err := e.Health(); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("health: %v, want ErrUnavailable", err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case <-done: // an error is expected: the log failed
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung after an fsync failure")
	}
}

// A crash keeps exactly what was synced: every grant acknowledged before the crash is there,
// nothing is there twice, and resending any request with its key returns its first answer if
// its record survived, or is granted afresh if not.
func TestCrashKeepsAcknowledged(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { crashKeepsAcknowledged(t, seed) })
	}
}

type ack struct {
	key   string
	units int64
	ans   core.Answer
}

func crashKeepsAcknowledged(t *testing.T, seed uint64) {
	mem := vfs.NewCrashableMem()
	e := memEngine(t, mem)
	id := provisionEngine(t, e, 1_000_000)
	var (
		mu    sync.Mutex
		acked []ack
		errs  []error
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				req := core.ConsumeRequest{License: id, Units: int64(1 + n%5), IdempotencyKey: fmt.Sprintf("w%d-%d", w, n)}
				var ans core.Answer
				err := e.Consume(&req, &ans)
				mu.Lock()
				if err != nil || !ans.Granted {
					errs = append(errs, fmt.Errorf("%s: %+v, %v", req.IdempotencyKey, ans, err))
				} else {
					acked = append(acked, ack{req.IdempotencyKey, req.Units, ans})
				}
				mu.Unlock()
			}
		})
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond) // a random moment under load
	mu.Lock()
	before := len(acked) // acknowledged before the crash: acked[:before]
	mu.Unlock()
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(seed, 2))})
	stop.Store(true)
	wg.Wait()
	e.Close()
	if len(errs) > 0 {
		t.Fatalf("%d requests failed on a healthy engine, first: %v", len(errs), errs[0])
	}
	if before == 0 {
		t.Fatal("nothing was acknowledged before the crash: the test measured nothing")
	}

	e = memEngine(t, crashed)
	defer e.Close()
	got := consumed(t, e, id)
	var survived int64
	for i, a := range acked {
		var again core.Answer
		prev := consumed(t, e, id)
		err := e.Consume(&core.ConsumeRequest{License: id, Units: a.units, IdempotencyKey: a.key}, &again)
		switch delta := consumed(t, e, id) - prev; {
		case err != nil || !again.Granted:
			t.Fatalf("resend %s after the crash: %+v, %v", a.key, again, err)
		case delta == 0 && again == a.ans: // its record survived: the first answer, nothing taken
			survived += a.units
		case i < before:
			t.Fatalf("resend %s, acknowledged before the crash: %+v (took %d), want the first answer %+v", a.key, again, delta, a.ans)
		case delta != a.units:
			t.Fatalf("resend %s, lost in the crash: took %d, want %d afresh", a.key, delta, a.units)
		}
	}
	if got != survived {
		t.Fatalf("after the crash: consumed %d, but the requests whose records survived took %d: counted twice or lost", got, survived)
	}
}

// Failpoint: the crash comes after the record is durable and before the client hears back.
// The grant survives, and the client's retry gets it without taking again.
func TestCrashBetweenAppendAndAnswer(t *testing.T) {
	t.Parallel()
	mem := vfs.NewCrashableMem()
	e := memEngine(t, mem)
	id := provisionEngine(t, e, 100)
	var crashed *vfs.MemFS
	core.SetHookAfterAppend(e, func() {
		if crashed == nil {
			crashed = mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 1))})
		}
	})
	var lost core.Answer // the answer the client never received
	if err := e.Consume(&core.ConsumeRequest{License: id, Units: 9, IdempotencyKey: "in-doubt"}, &lost); err != nil {
		t.Fatal(err)
	}
	e.Close()

	e = memEngine(t, crashed)
	defer e.Close()
	if got := consumed(t, e, id); got != 9 {
		t.Fatalf("consumed %d after the crash, want 9: the durable grant", got)
	}
	var retry core.Answer
	if err := e.Consume(&core.ConsumeRequest{License: id, Units: 9, IdempotencyKey: "in-doubt"}, &retry); err != nil || retry != lost {
		t.Fatalf("retry: %+v %v, want %+v", retry, err, lost)
	}
	if got := consumed(t, e, id); got != 9 {
		t.Fatalf("the retry took again: consumed %d", got)
	}
}

// Failpoint: the crash comes between a checkpoint and the truncation behind it, and again in
// the middle of later checkpoints. Recovery must rebuild exactly the acknowledged state: each
// image holds every grant acknowledged before it was taken, plus at most the one request then
// in flight, and resending that request with its key settles which: the license must then hold
// exactly one more unit than was acknowledged.
func TestCrashAroundCheckpoint(t *testing.T) {
	t.Parallel()
	mem := vfs.NewCrashableMem()
	e := memEngine(t, mem)
	id := provisionEngine(t, e, 1_000_000)
	var clones []*vfs.MemFS
	var grantedAt []int64 // units acknowledged when each clone was taken
	var granted atomic.Int64
	var mu sync.Mutex
	core.SetHookAfterCheckpoint(e, func() {
		mu.Lock()
		defer mu.Unlock()
		if len(clones) < 5 {
			// Read first: what was acknowledged before the clone began must be in it (read
			// after, a grant acknowledged meanwhile would count without being in the image).
			grantedAt = append(grantedAt, granted.Load())
			clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0}))
		}
	})
	key := func(n int64) string { return fmt.Sprint("req-", n) } // request n takes the nth unit
	deadline := time.Now().Add(10 * time.Second)
	for n := int64(1); ; n++ {
		var ans core.Answer
		if err := e.Consume(&core.ConsumeRequest{License: id, Units: 1, IdempotencyKey: key(n)}, &ans); err != nil || !ans.Granted {
			t.Fatalf("consume %d: %+v, %v", n, ans, err)
		}
		granted.Add(1)
		mu.Lock()
		enough := len(clones) >= 3
		mu.Unlock()
		if enough || time.Now().After(deadline) {
			break
		}
	}
	e.Close()
	if len(clones) == 0 {
		t.Fatal("no checkpoint happened")
	}
	for i, fs := range clones {
		e := memEngine(t, fs)
		got := consumed(t, e, id)
		if got != grantedAt[i] && got != grantedAt[i]+1 {
			t.Fatalf("clone %d: consumed %d, want the %d acknowledged when it was taken (or one more, in flight)", i, got, grantedAt[i])
		}
		var ans core.Answer
		if err := e.Consume(&core.ConsumeRequest{License: id, Units: 1, IdempotencyKey: key(grantedAt[i] + 1)}, &ans); err != nil || !ans.Granted {
			t.Fatalf("clone %d: resend: %+v, %v", i, ans, err)
		}
		if got := consumed(t, e, id); got != grantedAt[i]+1 {
			t.Fatalf("clone %d: consumed %d after resending the request in flight, want exactly %d", i, got, grantedAt[i]+1)
		}
		e.Close()
	}
}

// A usage database that holds records the WAL does not have stops start-up, naming the file.
func TestUsageDatabaseAheadOfWAL(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.UsageWriteInterval = 1
	a := startAgent(t, cfg, noOpts())
	lic := provisionPdfPro(t, a)
	a.consume(`{"license":"`+lic.ID+`","units":1}`, nil)
	a.stop()
	walDir := filepath.Join(cfg.DataDir, "wal")
	backup := filepath.Join(t.TempDir(), "wal")
	if err := os.CopyFS(backup, os.DirFS(walDir)); err != nil {
		t.Fatal(err)
	}
	a.start()
	for range 5 {
		a.consume(`{"license":"`+lic.ID+`","units":1}`, nil)
	}
	a.stop()
	if err := os.RemoveAll(walDir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(walDir, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	_, err := core.Open(cfg, core.Options{})
	if err == nil || !strings.Contains(err.Error(), usageDBPath(cfg)) || !strings.Contains(err.Error(), "ahead") {
		t.Fatalf("got %v, want an error naming %s as ahead of the WAL", err, usageDBPath(cfg))
	}
}

// A usage database that was replaced by an older copy, or deleted, stops start-up too: its
// rows would otherwise be written again, or never.
func TestUsageDatabaseBehind(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.UsageWriteInterval = 1
	a := startAgent(t, cfg, noOpts())
	lic := provisionPdfPro(t, a)
	a.stop()
	old := filepath.Join(t.TempDir(), "usage.db")
	copyFile(t, usageDBPath(cfg), old)
	a.start()
	a.consume(`{"license":"`+lic.ID+`","units":1}`, nil)
	a.stop()

	copyFile(t, old, usageDBPath(cfg))
	if _, err := core.Open(cfg, core.Options{}); err == nil || !strings.Contains(err.Error(), usageDBPath(cfg)) {
		t.Fatalf("older copy: got %v, want an error naming the usage database", err)
	}
	os.Remove(usageDBPath(cfg))
	if _, err := core.Open(cfg, core.Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("deleted: got %v, want an error saying the usage database is missing", err)
	}
}

// A record that does not decode stops start-up with an error naming the WAL directory.
func TestUndecodableRecordStopsStartup(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	a := startAgent(t, cfg, noOpts())
	provisionPdfPro(t, a)
	a.stop()
	walDir := filepath.Join(cfg.DataDir, "wal")
	log, err := wal.Open(walDir, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append([]byte{1, 3, 0, 0xff}); err != nil {
		t.Fatal(err)
	}
	log.Close()
	_, err = core.Open(cfg, core.Options{})
	if !errors.Is(err, core.ErrBadRecord) || !strings.Contains(err.Error(), walDir) {
		t.Fatalf("got %v, want ErrBadRecord naming %s", err, walDir)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
