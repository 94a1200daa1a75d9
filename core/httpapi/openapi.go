package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/valyala/fasthttp"
)

// openAPIDoc describes every route, body, answer, status and error code in OpenAPI 3.1. It
// is served byte for byte as kept in the repository, so that what a client generates from a
// running agent is what the repository documents; bench/openapi checks it against real
// answers.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves GET /openapi.json. Like /healthz it needs no token: it says nothing the
// repository does not, and the guard still refuses foreign Hosts and Origins.
func (s *Server) openAPI(ctx *fasthttp.RequestCtx, _ []byte) {
	writeJSON(ctx, http.StatusOK, openAPIDoc)
}
