package httpapi

import (
	"net/http"

	"github.com/valyala/fasthttp"
)

// guard refuses what a web page could make the user's browser send. DNS rebinding points a
// page's own name at 127.0.0.1, so the browser calls it same-origin, but it still sends that
// name as Host: only ALLOWED_HOSTS are answered (421). A page of another origin that calls us
// directly sends Origin (403), and its preflight is OPTIONS (403, without CORS headers, so
// the browser sends nothing else). It runs before routing, so every route is covered, and
// reports whether the request may go on.
func (s *Server) guard(ctx *fasthttp.RequestCtx) bool {
	if !s.hosts.allowsHost(ctx.Request.Header.Host()) || !s.uriHostAllowed(ctx) {
		refuse(ctx, http.StatusMisdirectedRequest, "misdirected_request",
			"this agent does not answer to that Host (see ALLOWED_HOSTS)")
		return false
	}
	if o := ctx.Request.Header.Peek("Origin"); o != nil && !s.hosts.allowsOrigin(o) {
		refuse(ctx, http.StatusForbidden, "forbidden_origin",
			"requests from web pages of other origins are refused (see ALLOWED_HOSTS)")
		return false
	}
	if ctx.IsOptions() {
		refuse(ctx, http.StatusForbidden, "forbidden",
			"OPTIONS is not served: the API takes no cross-origin requests")
		return false
	}
	return true
}

// uriHostAllowed checks the host of an absolute-form request target ("POST http://h/...."),
// which HTTP/1.1 puts before the Host header.
func (s *Server) uriHostAllowed(ctx *fasthttp.RequestCtx) bool {
	uri := ctx.Request.Header.RequestURI()
	if len(uri) == 0 || uri[0] == '/' || uri[0] == '*' {
		return true
	}
	return s.hosts.allowsHost(ctx.URI().Host())
}
