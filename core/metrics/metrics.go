package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/meterd/meterd/core/version"
	"github.com/meterd/meterd/shard"
)

// Metrics is the agent's Prometheus registry and the engine's own series; the HTTP edge adds
// its request and connection series to the same registry. Children with labels are resolved
// at most once, so the hot path only does atomic adds.
type Metrics struct {
	reg          *prometheus.Registry
	decisions    [5]prometheus.Counter // by shard.Outcome
	units        prometheus.Counter
	walSync      prometheus.Observer
	walGroup     prometheus.Observer
	usageRows    prometheus.Counter
	usageActions prometheus.Counter
	exportLag    prometheus.Gauge
	walErrors    prometheus.Counter
	// clockStepsBack counts the system clock falling more than stepTolerance behind the time
	// decisions already used.
	clockStepsBack prometheus.Counter
	poolLeases     prometheus.Counter
	poolLeased     prometheus.Counter
}

// New registers the engine's series, the Go and process collectors, and gauges that read the
// open sessions and the remembered idempotency keys when scraped.
func New(sessionsOpen, idemKeys func() float64) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	dec := f.counterVec("meterd_decisions_total", "Consume decisions by result.", "result")
	for o := shard.Granted; o <= shard.PoolUnavailable; o++ {
		m.decisions[o] = dec.WithLabelValues(o.String())
	}
	m.units = f.counter("meterd_units_consumed_total", "Units granted to consume and checkout calls.")
	m.walSync = f.histogram("meterd_wal_sync_duration_seconds", "Time to write and sync one group commit.",
		prometheus.ExponentialBuckets(10e-6, 2.5, 13))
	m.walGroup = f.histogram("meterd_wal_group_size", "Records per group commit.",
		prometheus.ExponentialBuckets(1, 2, 12))
	m.usageRows = f.counter("meterd_usage_rows_written_total", "Rows written to the usage database.")
	m.usageActions = f.counter("meterd_usage_actions_written_total", "Pay-per-use actions written to the usage database.")
	m.exportLag = f.gauge("meterd_usage_export_lag_actions", "Pay-per-use actions durable in the WAL but not yet in the usage database.")
	m.walErrors = f.counter("meterd_wal_errors_total", "Appends that failed because the WAL could not persist.")
	m.clockStepsBack = f.counter("meterd_clock_steps_back_total",
		"Times the system clock fell more than a second behind a time the agent already decided with.")
	m.poolLeases = f.counter("meterd_pool_leases_total", "Blocks leased from a shared pool (POOL_ENDPOINTS): etcd transactions that moved units here.")
	m.poolLeased = f.counter("meterd_pool_leased_units_total", "Units leased from a shared pool.")
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "meterd_idempotency_keys",
		Help: "Idempotency keys remembered (each until IDEMPOTENCY_TTL)."}, idemKeys))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "meterd_sessions_open",
		Help: "Sessions checked out and not yet checked in."}, sessionsOpen))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo(f, version.Get())
	return m
}

// buildInfo is the constant 1 labelled with the build, so a query can join any series to the
// version that produced it, and a dashboard can show which builds are running.
func buildInfo(f factory, v version.Info) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "meterd_build_info",
		Help:        "Always 1; the labels name the build: module version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": v.Version, "commit": v.Commit, "goversion": v.GoVersion}})
	f.reg.MustRegister(g)
	g.Set(1)
}

// Registry is where the agent's series are, for /metrics and for embedders.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Decision counts a consume decision and the units it granted.
func (m *Metrics) Decision(o shard.Outcome, units int64) {
	m.decisions[o].Inc()
	if o == shard.Granted && units > 0 {
		m.units.Add(float64(units))
	}
}

// WALError counts an append that failed because the WAL could not persist.
func (m *Metrics) WALError() { m.walErrors.Inc() }

// PoolLease counts a lease of units from a shared pool.
func (m *Metrics) PoolLease(units int64) {
	m.poolLeases.Inc()
	m.poolLeased.Add(float64(units))
}

// ClockStepBack counts the system clock falling behind a time already decided with.
func (m *Metrics) ClockStepBack() { m.clockStepsBack.Inc() }

// ExportLag sets the pay-per-use actions durable in the WAL but not yet in the usage database.
func (m *Metrics) ExportLag(actions int) { m.exportLag.Set(float64(actions)) }

// ObserveCommit is the WAL's OnCommit hook: one group commit of records, written and synced in d.
func (m *Metrics) ObserveCommit(records int, d time.Duration) {
	m.walSync.Observe(d.Seconds())
	m.walGroup.Observe(float64(records))
}

// ObserveWrite is the batcher's OnWrite hook: rows holding actions written to the usage database.
func (m *Metrics) ObserveWrite(rows, actions int, _ time.Duration) {
	m.usageRows.Add(float64(rows))
	m.usageActions.Add(float64(actions))
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}
