package core

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/meterd/meterd/shard"
)

// Routes label requests; a fixed set so that labels stay bounded whatever clients send.
const (
	routeConsume = iota
	routeConsumeBatch
	routeCheckin
	routeLicense
	routeOwnerLicenses
	routeTransactions
	routeProducts
	routeMetrics
	routeHealthz
	routeOther
	numRoutes
)

var routeNames = [numRoutes]string{"consume", "consume_batch", "checkin", "license",
	"owner_licenses", "license_transactions", "products", "metrics", "healthz", "other"}

// Status codes resolved once per route; anything else goes through WithLabelValues.
var knownCodes = [...]int{200, 400, 401, 403, 404, 405, 408, 409, 413, 415, 421, 422, 429, 431, 500, 503}

// metrics is the agent's Prometheus registry. Children with labels are resolved at most once,
// so the hot path only does atomic adds.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	reqSlots     [numRoutes][len(knownCodes)]atomic.Pointer[prometheus.Counter]
	duration     [numRoutes]prometheus.Observer
	decisions    [4]prometheus.Counter // by shard.Outcome
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
	connsOpen      prometheus.Gauge
	connsRefused   prometheus.Counter
}

func newMetrics(sessionsOpen, idemKeys func() float64) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.requests = f.counterVec("meterd_requests_total", "HTTP requests by route and status code.", "route", "code")
	dur := f.histogramVec("meterd_request_duration_seconds", "Time from request read to response written, by route.",
		prometheus.ExponentialBuckets(10e-6, 2.5, 13), "route")
	for r := range numRoutes {
		m.duration[r] = dur.WithLabelValues(routeNames[r])
	}
	dec := f.counterVec("meterd_decisions_total", "Consume decisions by result.", "result")
	for o := shard.Granted; o <= shard.NotYetValid; o++ {
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
	m.connsOpen = f.gauge("meterd_connections_open", "HTTP connections open (MAX_CONNS bounds them).")
	m.connsRefused = f.counter("meterd_connections_refused_total", "HTTP connections closed at once because MAX_CONNS were open.")
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "meterd_idempotency_keys",
		Help: "Idempotency keys remembered (each until IDEMPOTENCY_TTL)."}, idemKeys))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "meterd_sessions_open",
		Help: "Sessions checked out and not yet checked in."}, sessionsOpen))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// request counts one answered request.
func (m *metrics) request(route, code int, d time.Duration) {
	m.duration[route].Observe(d.Seconds())
	for i, c := range knownCodes {
		if c == code {
			m.requestSlot(route, i).Inc()
			return
		}
	}
	m.requests.WithLabelValues(routeNames[route], strconv.Itoa(code)).Inc()
}

func (m *metrics) requestSlot(route, i int) prometheus.Counter {
	if p := m.reqSlots[route][i].Load(); p != nil {
		return *p
	}
	c := m.requests.WithLabelValues(routeNames[route], strconv.Itoa(knownCodes[i]))
	m.reqSlots[route][i].Store(&c) // a racing store resolves the same child: harmless
	return c
}

func (m *metrics) decision(o shard.Outcome, units int64) {
	m.decisions[o].Inc()
	if o == shard.Granted && units > 0 {
		m.units.Add(float64(units))
	}
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

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
