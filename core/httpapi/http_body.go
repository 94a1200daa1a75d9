package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/valyala/fasthttp"
)

// errBodyTooLarge: a request body past its route's limit, declared or sent.
var errBodyTooLarge = errors.New("request body too large")

// bodyPool holds the buffers the bodies too large for a connection's own room are read into.
// A buffer grows only as bytes arrive, so memory follows what clients sent, never what they
// declared.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// bodyBuffer returns the buffer to read ctx's body into: the connection's own for a small
// body of declared length (a connection serves one request at a time), else one from
// bodyPool, and whether it came from there.
func bodyBuffer(ctx *fasthttp.RequestCtx) (bp *[]byte, pooled bool) {
	if c, ok := ctx.Conn().(*conn); ok {
		if n := ctx.Request.Header.ContentLength(); n >= 0 && n <= len(c.bodyRoom) {
			c.body = c.bodyRoom[:0]
			return &c.body, false
		}
	}
	return bodyPool.Get().(*[]byte), true
}

// readBody reads the request body, at most limit bytes, into *bp (which keeps any growth)
// and returns it. The read runs under BODY_TIMEOUT, armed when the headers arrived.
func readBody(ctx *fasthttp.RequestCtx, limit int, bp *[]byte) ([]byte, error) {
	if ctx.Request.Header.ContentLength() > limit {
		return nil, errBodyTooLarge
	}
	rs := ctx.RequestBodyStream()
	if rs == nil { // a request built in process, as the benchmarks do
		if b := ctx.Request.Body(); len(b) <= limit {
			return b, nil
		}
		return nil, errBodyTooLarge
	}
	b := (*bp)[:0]
	defer func() { *bp = b[:0] }()
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow by what append doubles to: the bytes so far
		}
		n, err := rs.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case len(b) > limit: // a chunked body has no declared length to refuse up front
			return nil, errBodyTooLarge
		case err == io.EOF:
			return b, nil
		case err != nil:
			return nil, err
		}
	}
}

// hasBody reports a body declared by length or sent chunked.
func hasBody(ctx *fasthttp.RequestCtx) bool {
	cl := ctx.Request.Header.ContentLength()
	return cl > 0 || cl == -1
}

// bodyError answers a body that could not be read, and closes the connection: the rest of
// the body may still be on its way, so the next request would not start where it should.
func (s *Server) bodyError(ctx *fasthttp.RequestCtx, err error, limit int) {
	ctx.SetConnectionClose()
	switch {
	case errors.Is(err, errBodyTooLarge):
		lingerOnClose(ctx.Conn()) // the client is likely still sending: see linger.go
		writeError(ctx, http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("request body is larger than %d bytes", limit))
	case isTimeout(err):
		writeError(ctx, http.StatusRequestTimeout, "request_timeout",
			fmt.Sprintf("the request body was not complete %v after the headers", s.body))
	default:
		writeError(ctx, http.StatusBadRequest, "bad_request", "the request body could not be read")
	}
}
