// Package httpapi puts a core.Engine on HTTP with fasthttp: routing, the admin token, the JSON
// wire format (the consume bodies scanned without allocating, 10Duke's license-transaction and
// license shapes), the request and connection metrics, the one place the engine's errors
// become statuses (errors.go), and the OpenAPI 3.1 document of all of it (openapi.json,
// served at /openapi.json). Every answer, errors included, is JSON.
//
// # The edge assumes it is attacked
//
// Server assumes every local process and every web page in the user's browser may be
// hostile. Before routing it answers only Host names in ALLOWED_HOSTS and refuses foreign
// Origins and OPTIONS (http_guard.go). The listener bounds connections (MAX_CONNS) and drives
// the first request's deadlines, fasthttp the later ones (listener.go); bodies are streamed
// into buffers that grow with the bytes received (http_body.go). Nothing fasthttp could not
// parse is quoted back or logged as text (httplog.go), since it may hold the admin token. A
// provisioning request's vendor signature is checked before its body is read.
//
// It imports core and core/config, never cmd or bench; core never imports it.
package httpapi
