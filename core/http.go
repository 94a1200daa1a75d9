package core

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

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Body limits: DESIGN.md's 64 KiB for every body, and room for 1,000 items on the batch
// endpoint.
const (
	MaxBodySize      = 64 << 10
	MaxBatchBodySize = 4 << 20
)

// Server puts an Engine on HTTP. Every answer, errors included, is JSON.
type Server struct {
	e       *Engine
	token   [sha256.Size]byte // of the admin token; compared in constant time
	srv     *fasthttp.Server
	metrics fasthttp.RequestHandler
	logger  *slog.Logger
}

// NewServer serves e; adminToken guards provisioning and the admin reads.
func NewServer(e *Engine, adminToken string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{e: e, token: sha256.Sum256([]byte(adminToken)), logger: logger,
		metrics: fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(e.Metrics(),
			promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))}
	s.srv = &fasthttp.Server{
		Handler:               s.Handle,
		ErrorHandler:          s.handleParseError,
		HeaderReceived:        headerReceived,
		Name:                  "meterd",
		MaxRequestBodySize:    MaxBodySize,
		NoDefaultServerHeader: true,
		// No ReadTimeout: fasthttp applies it to the first byte of a connection's first
		// request and answers its expiry with an error response, which a client that opened
		// a spare connection and left it idle receives unasked (and a request racing it
		// receives as its answer). Keep-alive connections still close after IdleTimeout.
		WriteTimeout:    30 * time.Second,
		IdleTimeout:     2 * time.Minute,
		CloseOnShutdown: true,
		Logger:          fasthttpLogger{logger},
	}
	return s
}

// Serve answers on ln until Shutdown. Connections close lingering (see linger.go).
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(lingerListener{ln}) }

// Shutdown stops accepting connections and waits for the requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// Handle serves one request; exported so benchmarks can drive it without a network.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	route := s.dispatch(ctx)
	s.e.metrics.request(route, ctx.Response.StatusCode(), time.Since(start))
}

// headerReceived raises the body limit for the batch endpoint only.
func headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if string(h.RequestURI()) == "/v1/consume:batch" {
		return fasthttp.RequestConfig{MaxRequestBodySize: MaxBatchBodySize}
	}
	return fasthttp.RequestConfig{}
}

// handleParseError answers requests fasthttp could not read, in JSON like everything else.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	lingerOnClose(ctx.Conn()) // fasthttp closes next, maybe amid the body: see linger.go
	code := http.StatusBadRequest
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeError(ctx, http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("request body is larger than %d bytes", MaxBodySize))
		code = http.StatusRequestEntityTooLarge
	} else {
		writeError(ctx, code, "bad_request", "malformed HTTP request: "+err.Error())
	}
	s.e.metrics.request(routeOther, code, 0)
}

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
		return s.serve(ctx, routeMetrics, "GET", false, s.metrics)
	case "/healthz":
		return s.serve(ctx, routeHealthz, "GET", false, s.healthz)
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
			return s.serve(ctx, routeTransactions, "POST", true, func(ctx *fasthttp.RequestCtx) { s.transaction(ctx, owner) })
		case "licenses":
			return s.serve(ctx, routeOwnerLicenses, "GET", true, func(ctx *fasthttp.RequestCtx) { s.ownerLicenses(ctx, owner) })
		}
	}
	writeError(ctx, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", ctx.Method(), path))
	return routeOther
}

// serve checks the method (405 with Allow), the admin token (401) and, for requests with a
// body, the content type (415), then runs h.
func (s *Server) serve(ctx *fasthttp.RequestCtx, route int, allow string, admin bool, h fasthttp.RequestHandler) int {
	if !methodAllowed(ctx, allow) {
		ctx.Response.Header.Set("Allow", allow)
		writeError(ctx, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed here; use %s", ctx.Method(), allow))
		return route
	}
	if admin && !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="meterd"`)
		writeError(ctx, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
		return route
	}
	if (ctx.IsPost() || ctx.IsPut()) && !isJSON(ctx.Request.Header.ContentType()) {
		writeError(ctx, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"request bodies must be Content-Type: application/json")
		return route
	}
	h(ctx)
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
	for _, prefix := range [...]string{ownerOrganizations, ownerUsers} {
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
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(appendError(nil, code, msg))
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

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// fasthttpLogger routes fasthttp's own messages to slog.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}
