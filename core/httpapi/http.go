package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/internal/throttle"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// writeTimeout bounds an answer's write to a client that stops reading; the connection arms it
// up to writeSlack late (listener.go).
const writeTimeout = 30 * time.Second

// Body limits: 64 KiB for every body (API.md), and room for 1,000 items on the batch
// endpoint.
const (
	MaxBodySize      = 64 << 10
	MaxBatchBodySize = 4 << 20
)

// Server puts an Engine on HTTP. Every answer, errors included, is JSON.
type Server struct {
	e       *core.Engine
	token   [sha256.Size]byte // of the admin token; compared in constant time
	srv     *fasthttp.Server
	scrape  fasthttp.RequestHandler // GET /metrics
	metrics *metrics
	logger  *slog.Logger
	hosts   hostSet
	conns   connLimit
	idle    time.Duration
	header  time.Duration
	body    time.Duration

	acceptLog throttle.Throttle // accept errors while descriptors run out
	parseLog  throttle.Throttle // requests fasthttp could not read
}

// NewServer serves e with the HTTP settings of the Config e was opened with; adminToken guards
// provisioning and the admin reads.
func NewServer(e *core.Engine, adminToken string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := e.Config()
	s := &Server{e: e, token: sha256.Sum256([]byte(adminToken)), logger: logger,
		scrape: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.Metrics(),
			promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})),
		metrics: newMetrics(e.Metrics()),
		hosts:   newHostSet(cfg.AllowedHostList()), conns: connLimit{max: int64(cfg.MaxConns)},
		idle: cfg.IdleTimeout, header: cfg.HeaderTimeout, body: cfg.BodyTimeout,
		acceptLog: throttle.Throttle{Every: 5 * time.Second}, parseLog: throttle.Throttle{Every: 5 * time.Second}}
	s.srv = &fasthttp.Server{
		Handler:        s.Handle,
		ErrorHandler:   s.handleParseError,
		HeaderReceived: s.headerReceived,
		Name:           "meterd",
		// Bodies are streamed: fasthttp reads ahead at most 8 KiB (it would otherwise reserve
		// a declared Content-Length before a byte of it arrived), and readBody takes the
		// rest as it comes, up to the route's limit.
		StreamRequestBody:     true,
		MaxRequestBodySize:    MaxBodySize,
		NoDefaultServerHeader: true,
		// HEADER_TIMEOUT; fasthttp re-arms it at the first byte of every request after the
		// first, and the connection does for the first one (see listener.go).
		ReadTimeout:  cfg.HeaderTimeout,
		IdleTimeout:  cfg.IdleTimeout,
		WriteTimeout: writeTimeout,
		Concurrency:  cfg.MaxConns,
		// Nothing reads RequestCtx.Time: fasthttp need not read the clock for every
		// request, which the deadlines above already do.
		LazyRequestTime:       true,
		SecureErrorLogMessage: true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{logger, &s.parseLog},
	}
	return s
}

// Serve answers on ln until Shutdown, at most MAX_CONNS connections at once across every
// listener (see listener.go). Connections close lingering (see linger.go).
func (s *Server) Serve(ln net.Listener) error {
	return s.srv.Serve(&connListener{Listener: ln, lim: &s.conns, s: s, idle: s.idle, header: s.header})
}

// Shutdown stops accepting connections and waits for the requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// Handle serves one request; exported so benchmarks can drive it without a network.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	route := routeOther
	if s.guard(ctx) {
		route = s.dispatch(ctx)
	}
	s.metrics.request(route, ctx.Response.StatusCode(), time.Since(start))
}

// headerReceived arms BODY_TIMEOUT once a request's headers are in.
func (s *Server) headerReceived(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return fasthttp.RequestConfig{ReadTimeout: s.body}
}

// handleParseError answers requests fasthttp could not read, in JSON like everything else.
// The answer never quotes the error: fasthttp's errors may carry the raw request, headers
// (and so the admin token) included.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	lingerOnClose(ctx.Conn()) // fasthttp closes next, maybe amid the body: see linger.go
	status, code, msg := http.StatusBadRequest, "bad_request", "malformed HTTP request"
	var small *fasthttp.ErrSmallBuffer
	switch {
	case isTimeout(err):
		status, code, msg = http.StatusRequestTimeout, "request_timeout",
			fmt.Sprintf("the request was not complete in time (headers %v after the first byte, body %v after the headers)", s.header, s.body)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, code, msg = http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("request body is larger than %d bytes", MaxBodySize)
	case errors.As(err, &small):
		status, code, msg = http.StatusRequestHeaderFieldsTooLarge, "header_too_large",
			"request headers are larger than the read buffer"
	}
	writeError(ctx, status, code, msg)
	s.metrics.request(routeOther, status, 0)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handler serves a request whose body, if the route takes one, is read: it aliases a pooled
// buffer, valid until the handler returns.
type handler func(ctx *fasthttp.RequestCtx, body []byte)

// dispatch routes by path, then method, and returns the route for metrics.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx) int {
	path := ctx.Path()
	switch string(path) {
	case "/v1/consume":
		return s.serve(ctx, routeConsume, "POST", false, s.consume)
	case "/v1/consume:batch":
		return s.serve(ctx, routeConsumeBatch, "POST", false, s.consumeBatch)
	case "/v1/checkin":
		return s.serve(ctx, routeCheckin, "POST", false, s.checkin)
	case "/metrics":
		return s.serve(ctx, routeMetrics, "GET", false, func(ctx *fasthttp.RequestCtx, _ []byte) { s.scrape(ctx) })
	case "/healthz":
		return s.serve(ctx, routeHealthz, "GET", false, s.healthz)
	case "/openapi.json":
		return s.serve(ctx, routeOpenAPI, "GET", false, s.openAPI)
	}
	switch {
	case bytes.HasPrefix(path, []byte("/v1/licenses/")):
		return s.serve(ctx, routeLicense, "GET", false, s.license)
	case bytes.HasPrefix(path, []byte("/products/")):
		return s.serve(ctx, routeProducts, "GET, PUT", true, s.product)
	}
	if owner, tail, ok := ownerPath(path); ok {
		switch tail {
		case "license-transactions":
			return s.serve(ctx, routeTransactions, "POST", true, func(ctx *fasthttp.RequestCtx, body []byte) { s.transaction(ctx, owner, body) })
		case "licenses":
			return s.serve(ctx, routeOwnerLicenses, "GET", true, func(ctx *fasthttp.RequestCtx, _ []byte) { s.ownerLicenses(ctx, owner) })
		}
	}
	refuse(ctx, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", ctx.Method(), path))
	return routeOther
}

// serve checks the method (405 with Allow), the admin token (401) and, for requests with a
// body, the content type (415), reads the body (413, 408) and runs h.
func (s *Server) serve(ctx *fasthttp.RequestCtx, route int, allow string, admin bool, h handler) int {
	if !methodAllowed(ctx, allow) {
		ctx.Response.Header.Set("Allow", allow)
		refuse(ctx, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed here; use %s", ctx.Method(), allow))
		return route
	}
	if admin && !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="meterd"`)
		refuse(ctx, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
		return route
	}
	if !ctx.IsPost() && !ctx.IsPut() {
		// A body here is ignored. Let go of its stream, so that nothing (the metrics
		// adapter reads PostBody) reads it whole into memory: fasthttp drains or closes.
		ctx.Request.CloseBodyStream()
		h(ctx, nil)
		return route
	}
	if !isJSON(ctx.Request.Header.ContentType()) {
		refuse(ctx, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"request bodies must be Content-Type: application/json")
		return route
	}
	limit := MaxBodySize
	if route == routeConsumeBatch {
		limit = MaxBatchBodySize
	}
	bp, pooled := bodyBuffer(ctx)
	if body, err := readBody(ctx, limit, bp); err != nil {
		s.bodyError(ctx, err, limit)
	} else {
		h(ctx, body)
	}
	if pooled {
		bodyPool.Put(bp)
	}
	return route
}

func methodAllowed(ctx *fasthttp.RequestCtx, allow string) bool {
	switch allow {
	case "GET":
		return ctx.IsGet()
	case "POST":
		return ctx.IsPost()
	}
	return ctx.IsGet() || ctx.IsPut()
}

// isJSON accepts application/json with optional parameters (charset).
func isJSON(ct []byte) bool {
	if string(ct) == "application/json" { // what clients send; the rest is the general case
		return true
	}
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), []byte("application/json"))
}

func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	h := ctx.Request.Header.Peek("Authorization")
	tok, ok := bytes.CutPrefix(h, []byte("Bearer "))
	if !ok {
		return false
	}
	sum := sha256.Sum256(bytes.TrimSpace(tok))
	return subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

// ownerPath splits /organizations/{id}/<tail> and /users/{id}/<tail>.
func ownerPath(path []byte) (owner, tail string, ok bool) {
	p := string(path[1:])
	for _, prefix := range [...]string{"organizations/", "users/"} {
		rest, found := strings.CutPrefix(p, prefix)
		if !found {
			continue
		}
		id, tail, found := strings.Cut(rest, "/")
		if !found || id == "" {
			return "", "", false
		}
		return prefix + id, tail, true
	}
	return "", "", false
}

// writeError answers with the JSON error shape.
func writeError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	writeJSONBuf(ctx, status, appendError(responseBuf(ctx), code, msg))
}

// refuse answers a request without reading its body. A body left unread closes the
// connection, lingering (see linger.go): fasthttp would otherwise read up to 256 KiB of it to
// find the next request, or close while the client is still sending.
func refuse(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	if hasBody(ctx) {
		ctx.SetConnectionClose()
		lingerOnClose(ctx.Conn())
	}
	writeError(ctx, status, code, msg)
}

// fail answers an engine error.
func (s *Server) fail(ctx *fasthttp.RequestCtx, err error) {
	status, code := httpStatus(err)
	switch status {
	case http.StatusServiceUnavailable:
		ctx.Response.Header.Set("Retry-After", "1")
	case http.StatusTooManyRequests:
		s.setRetryAfter(ctx, err)
	}
	if status == http.StatusInternalServerError {
		s.logger.Error("request failed", "path", string(ctx.Path()), "err", err)
	}
	writeError(ctx, status, code, err.Error())
}

// setRetryAfter tells a client refused with 429 when a key or a session may be free, in
// whole seconds, at least 1.
func (s *Server) setRetryAfter(ctx *fasthttp.RequestCtx, err error) {
	secs := int64(math.Ceil(s.e.RetryAfter(err).Seconds()))
	ctx.Response.Header.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
}

// writeJSON answers with a body built beforehand (a constant, a marshalled document); one
// built for the answer is appended to responseBuf instead, and sent with writeJSONBuf.
func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// responseBuf lends out the response's own body buffer, empty: fasthttp pools it, so an answer
// appended to it and handed back by writeJSONBuf is neither copied nor kept in a pool of ours.
func responseBuf(ctx *fasthttp.RequestCtx) []byte { return ctx.Response.SwapBody(nil)[:0] }

// writeJSONBuf answers with b, which responseBuf lent out (grown or not).
func writeJSONBuf(ctx *fasthttp.RequestCtx, status int, b []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.SwapBody(b)
}
