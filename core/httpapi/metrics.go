package httpapi

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	routeOpenAPI
	routeOther
	numRoutes
)

var routeNames = [numRoutes]string{"consume", "consume_batch", "checkin", "license",
	"owner_licenses", "license_transactions", "products", "metrics", "healthz", "openapi", "other"}

// Status codes resolved once per route; anything else goes through WithLabelValues.
var knownCodes = [...]int{200, 400, 401, 403, 404, 405, 408, 409, 413, 415, 421, 422, 429, 431, 500, 503}

// metrics are the HTTP edge's series, in the engine's registry.
type metrics struct {
	requests     *prometheus.CounterVec
	reqSlots     [numRoutes][len(knownCodes)]atomic.Pointer[prometheus.Counter]
	duration     [numRoutes]prometheus.Observer
	connsOpen    prometheus.Gauge
	connsRefused prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{}
	m.requests = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "meterd_requests_total",
		Help: "HTTP requests by route and status code."}, []string{"route", "code"}))
	dur := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "meterd_request_duration_seconds",
		Help:    "Time from request read to response written, by route.",
		Buckets: prometheus.ExponentialBuckets(10e-6, 2.5, 13)}, []string{"route"}))
	for r := range numRoutes {
		m.duration[r] = dur.WithLabelValues(routeNames[r])
	}
	m.connsOpen = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "meterd_connections_open",
		Help: "HTTP connections open (MAX_CONNS bounds them)."}))
	m.connsRefused = register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "meterd_connections_refused_total",
		Help: "HTTP connections closed at once because MAX_CONNS were open."}))
	return m
}

// register adds c to reg, or returns the collector already there: a second Server on one
// engine (tests, tools serving in process) counts into the same series.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return are.ExistingCollector.(C)
	}
	if err != nil {
		panic("BUG: httpapi: " + err.Error())
	}
	return c
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
