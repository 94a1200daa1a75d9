package core

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/idem"
	"github.com/meterd/meterd/core/internal/throttle"
	"github.com/meterd/meterd/core/metrics"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/core/session"
	"github.com/meterd/meterd/core/vendorsig"
	"github.com/meterd/meterd/shard"
	"github.com/meterd/meterd/wal"
)

// Options are what tests and embedders may set beside config.Config.
type Options struct {
	Logger *slog.Logger     // nil: discard
	Clock  func() time.Time // nil: time.Now
	FS     vfs.FS           // nil: the real disk; tests pass Pebble's crash or error filesystems
	// PoolPrefix is where in etcd the shared pool's keys live (POOL_ENDPOINTS set); "": the
	// default, meterd/. Tests give each pool its own.
	PoolPrefix string
}

// Engine decides consumption, provisions licenses and keeps both durable. It is usable without
// HTTP; Server puts it on the network.
type Engine struct {
	cfg     config.Config
	log     *wal.Log
	logger  *slog.Logger
	clock   func() time.Time // the wall clock, for what only paces itself (log throttles)
	clk     *clock           // the time decisions use: never before one already used
	metrics *metrics.Metrics
	walDir  string

	table    *shard.Table // license id, and ownerItemKey aliases; values are *license
	idem     *idem.Table
	sessions *session.Table

	vendorKey vendorsig.Key // VENDOR_PUBLIC_KEY_FILE; nil: provisioning needs no signature
	pool      *poolRun      // POOL_ENDPOINTS; nil: licenses live in this agent alone

	provMu   sync.RWMutex // provisioning and the maps below
	products map[string]*productRef
	byOwner  map[string][]*license
	txs      map[string]*record.Tx

	gate      atomic.Int64
	drained   chan struct{} // closed when the gate is shut and the last call has left
	drainOnce sync.Once
	closing   chan struct{}
	bg        sync.WaitGroup
	apply     *applier
	walLog    throttle.Throttle
	closed    sync.Once
	closeErr  error

	// Failpoints for tests (nil in production): after a record is durable and before its
	// answer, and after a checkpoint commits and before the truncation that follows it.
	hookAfterAppend     atomic.Pointer[func()]
	hookAfterCheckpoint atomic.Pointer[func()]
}

// gateClosed is set in Engine.gate once Close has begun; the low bits count calls in flight.
const gateClosed = 1 << 62

// Open recovers the engine from cfg.DataDir (creating it if needed) and starts its
// background work.
func Open(cfg config.Config, opts Options) (*Engine, error) {
	e, err := open(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := e.openPool(opts.PoolPrefix); err != nil {
		if e.apply.db != nil {
			e.apply.db.Close()
		}
		e.log.Close()
		return nil, err
	}
	e.start()
	return e, nil
}

// open is Open without the background work: internal tests drive the applier by hand.
func open(cfg config.Config, opts Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, logger: opts.Logger, clock: opts.Clock, walDir: filepath.Join(cfg.DataDir, "wal"),
		table: new(shard.Table), idem: idem.New(int64(cfg.IdempotencyTTL), cfg.IdempotencyMaxKeys),
		sessions: session.New(cfg.MaxSessions), products: make(map[string]*productRef),
		byOwner: make(map[string][]*license), txs: make(map[string]*record.Tx), closing: make(chan struct{}), drained: make(chan struct{})}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	if e.clock == nil {
		e.clock = time.Now
	}
	e.walLog = throttle.Throttle{Every: 5 * time.Second}
	e.metrics = metrics.New(func() float64 { return float64(e.sessions.NumOpen()) },
		func() float64 { return float64(e.idem.Len()) })
	e.metrics.WatchBalances(e.balances)
	e.clk = newClock(e.clock, e.clockStepped)
	if err := e.loadVendorKey(); err != nil {
		return nil, err
	}
	if err := e.recover(opts.FS); err != nil {
		if e.log != nil {
			e.log.Close()
		}
		return nil, err
	}
	return e, nil
}

func (e *Engine) nowNS() int64 { return e.clk.now() }

// clockStepped reports that the system clock fell behind a time the engine already used.
func (e *Engine) clockStepped(behind time.Duration) {
	e.metrics.ClockStepBack()
	e.logger.Warn("the system clock is behind a time this agent already decided with; time holds there until the clock catches up",
		"behind", behind.Round(time.Millisecond))
}

// enter admits one call unless Close has begun.
func (e *Engine) enter() bool {
	if e.gate.Add(1)&gateClosed != 0 {
		e.gate.Add(-1)
		return false
	}
	return true
}

func (e *Engine) exit() {
	if e.gate.Add(-1) == gateClosed {
		e.drainOnce.Do(func() { close(e.drained) })
	}
}

// Close stops admitting calls, waits for those in flight, writes everything durable into the
// usage database, checkpoints, and closes the log. It is safe to call more than once.
func (e *Engine) Close() error {
	e.closed.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Engine) close() error {
	if e.gate.Add(gateClosed) != gateClosed {
		<-e.drained // calls in flight end within one WAL append
	}
	perr := e.closePool() // every unit held goes back before the log closes
	close(e.closing)
	e.bg.Wait()
	err := errors.Join(perr, e.log.Sync())
	err = errors.Join(err, e.apply.finish())
	if cerr := e.log.Close(); cerr != nil && !errors.Is(cerr, wal.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// Config is the configuration the engine was opened with.
func (e *Engine) Config() config.Config { return e.cfg }

// Metrics exposes the registry for /metrics and for embedders.
func (e *Engine) Metrics() *prometheus.Registry { return e.metrics.Registry() }

// lookup returns the license registered under key (an id or an ownerItemKey alias).
func (e *Engine) lookup(key string) *license {
	if c := e.table.Get(key); c != nil {
		return c.Value().(*license)
	}
	return nil
}

// Health reports why the engine cannot take writes, or nil.
func (e *Engine) Health() error {
	if err := e.log.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return e.apply.health()
}
