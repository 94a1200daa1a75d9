package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// anyKey names the answers of x-meterd-any-request in the coverage.
const anyKey = "(any request)"

// spec is the document, loaded and checked, with what the test has seen of it.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	anyOp  *openapi3.Operation // x-meterd-any-request, as an operation to validate against

	seen     map[string]map[int]map[string]bool // operation → status → error codes ("" for none)
	reasons  map[string]bool                    // denial reasons, single and batch
	items    map[string]bool                    // batch results: "status" and "status code"
	goodCall map[string]call                    // operation → the first call it answered 200
}

// loadSpec parses and validates the document, as OpenAPI 3.1 with JSON Schema 2020-12 (its
// examples included), and routes requests by path alone: the servers entry names the default
// LISTEN, and the agents under test listen elsewhere.
func loadSpec(t *testing.T, data []byte) *spec {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Fatalf("the document is OpenAPI %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3.1: %v", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the document: %v", err)
	}
	return &spec{doc: doc, router: router, anyOp: anyRequestOp(t, doc),
		seen: map[string]map[int]map[string]bool{}, reasons: map[string]bool{}, items: map[string]bool{},
		goodCall: map[string]call{}}
}

// anyRequestOp reads x-meterd-any-request: {"responses": {status: {"$ref":
// "#/components/responses/Name"}}}. Extensions are not resolved by the loader.
func anyRequestOp(t *testing.T, doc *openapi3.T) *openapi3.Operation {
	t.Helper()
	ext, ok := doc.Extensions["x-meterd-any-request"].(map[string]any)
	if !ok {
		t.Fatal("the document has no x-meterd-any-request object")
	}
	rs, ok := ext["responses"].(map[string]any)
	if !ok || len(rs) == 0 {
		t.Fatal("x-meterd-any-request has no responses")
	}
	op := openapi3.NewOperation()
	op.Responses = openapi3.NewResponses()
	for status, v := range rs {
		m, _ := v.(map[string]any)
		target, _ := m["$ref"].(string)
		name, ok := strings.CutPrefix(target, "#/components/responses/")
		if !ok || doc.Components.Responses[name] == nil {
			t.Fatalf("x-meterd-any-request: %s: %v is not a reference to a response of the document", status, v)
		}
		code, err := strconv.Atoi(status)
		if err != nil {
			t.Fatalf("x-meterd-any-request: %q is not a status", status)
		}
		op.Responses.Set(strconv.Itoa(code), doc.Components.Responses[name])
	}
	return op
}

// validateOptions are strict: an undocumented status fails, and so does a body sent where
// none is documented. A schema error reads as its reason alone: the whole schema, which
// kin-openapi prints after it by default, would bury it.
func validateOptions(excludeRequestBody bool) *openapi3filter.Options {
	o := &openapi3filter.Options{
		MultiError:                        true,
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		ExcludeRequestBody:                excludeRequestBody,
		AuthenticationFunc:                bearerPresent,
	}
	o.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string { return err.Reason })
	return o
}

// bearerPresent is the document's view of the admin token: a request must carry one; whether
// it is the right one only the agent knows.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "adminToken" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// check validates c and its answer a against the document and records what a showed. addr
// is the agent's address, which the request is rebuilt against.
func (s *spec) check(t *testing.T, addr string, c *call, a *answer) {
	t.Helper()
	if a.status != c.want {
		t.Errorf("%s: status %d, want %d: %s", c.name, a.status, c.want, a.body)
	}
	var errBody struct {
		Error *string `json:"error"`
	}
	code := ""
	if json.Unmarshal(a.body, &errBody) == nil && errBody.Error != nil {
		code = *errBody.Error
	}
	if code != c.code {
		t.Errorf("%s: error code %q, want %q: %s", c.name, code, c.code, a.body)
	}

	req, err := c.httpRequest(addr)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	partial := c.declare > 0 || c.raw != ""
	in := &openapi3filter.RequestValidationInput{Request: req, Options: validateOptions(partial)}
	key := anyKey
	if c.anyReq {
		in.Route = &routers.Route{Spec: s.doc, Path: anyKey, Method: c.method, Operation: s.anyOp}
	} else {
		route, params, err := s.router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: the document has no operation for %s %s: %v", c.name, c.method, c.path, err)
			return
		}
		in.Route, in.PathParams = route, params
		key = opKey(route.Method, route.Path)
		err = openapi3filter.ValidateRequest(context.Background(), in)
		switch {
		case c.offSpec && err == nil:
			t.Errorf("%s: the document accepts a request the test sends as one it refuses", c.name)
		case !c.offSpec && err != nil:
			t.Errorf("%s: the document refuses the request: %v", c.name, err)
		}
	}
	resp := in.Route.Operation.Responses.Status(a.status)
	if resp != nil {
		s.checkHeaders(t, c, a, resp.Value)
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 a.status,
		Header:                 a.header,
		Body:                   io.NopCloser(bytes.NewReader(a.body)),
		Options:                validateOptions(partial),
	})
	if err != nil {
		t.Errorf("%s: %s %s answered %d %s %.300s\nwhich does not match the document: %v",
			c.name, c.method, c.path, a.status, a.header.Get("Content-Type"), a.body, err)
	}
	s.record(key, c, a, code)
}

// Headers meterd sets on purpose: one in an answer must be documented for its status, so that
// the document cannot leave out a header a client should act on.
var meaningfulHeaders = []string{"Allow", "Retry-After", "WWW-Authenticate"}

func (s *spec) checkHeaders(t *testing.T, c *call, a *answer, r *openapi3.Response) {
	t.Helper()
	for _, h := range meaningfulHeaders {
		if a.header.Get(h) != "" && r.Headers[h] == nil {
			t.Errorf("%s: the answer %d carries %s: %s, which the document does not list for it", c.name, a.status, h, a.header.Get(h))
		}
	}
}

func opKey(method, path string) string { return method + " " + path }

// httpRequest is c as a net/http request to addr, for the validator.
func (c *call) httpRequest(addr string) (*http.Request, error) {
	body := c.body
	if c.declare > 0 || c.raw != "" {
		body = ""
	}
	req, err := http.NewRequest(c.method, "http://"+addr+c.path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", c.contentType())
	}
	switch c.auth {
	case adminToken, wrongToken:
		req.Header.Set("Authorization", "Bearer token")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return req, nil
}

// operations lists the document's operations by key.
func (s *spec) operations() map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[opKey(method, path)] = op
		}
	}
	return ops
}
