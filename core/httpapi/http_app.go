package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/meterd/meterd/core"
	"github.com/valyala/fasthttp"
)

// Fields each application endpoint takes; anything else is a 400, so a typo never silently
// becomes a default.
var (
	consumeFields = [numFields]bool{true, true, true, true, true, true, true, true, false}
	checkinFields = [numFields]bool{true, true, true, true, true, true, true, true, false}
	batchFields   = [numFields]bool{true, true, true, true, true, true, true, true, true}
)

// consume serves POST /v1/consume: 200 grant, 409 denial, errors as JSON.
func (s *Server) consume(ctx *fasthttp.RequestCtx, body []byte) {
	var fb flatBody
	if err := parseFlatBody(body, &fb, &consumeFields); err != nil {
		s.fail(ctx, err)
		return
	}
	req := core.ConsumeRequest{Owner: fb.str[fieldOwner], Item: fb.str[fieldItem], License: fb.str[fieldLicense],
		Units: fb.units, Session: fb.str[fieldSession], User: fb.str[fieldUser], Host: fb.str[fieldHost],
		IP: fb.str[fieldIP], Peer: peerAddr(ctx),
		IdempotencyKey: bytesString(ctx.Request.Header.Peek("Idempotency-Key"))}
	var ans core.Answer
	if err := s.e.Consume(&req, &ans); err != nil {
		s.fail(ctx, err)
		return
	}
	status := http.StatusOK
	if !ans.Granted {
		status = http.StatusConflict
	}
	writeJSONBuf(ctx, status, appendAnswer(responseBuf(ctx), &ans))
}

// checkin serves POST /v1/checkin.
func (s *Server) checkin(ctx *fasthttp.RequestCtx, body []byte) {
	var fb flatBody
	if err := parseFlatBody(body, &fb, &checkinFields); err != nil {
		s.fail(ctx, err)
		return
	}
	req := core.CheckinRequest{Owner: fb.str[fieldOwner], Item: fb.str[fieldItem], License: fb.str[fieldLicense],
		Session: fb.str[fieldSession], User: fb.str[fieldUser], Host: fb.str[fieldHost], IP: fb.str[fieldIP],
		Peer: peerAddr(ctx)}
	var ans core.CheckinAnswer
	if err := s.e.Checkin(&req, &ans); err != nil {
		s.fail(ctx, err)
		return
	}
	b := appendJSONString(append(responseBuf(ctx), `{"checkedIn":true,"license":`...), ans.License)
	b = appendJSONString(append(b, `,"session":`...), ans.Session)
	b = strconv.AppendInt(append(b, `,"remaining":`...), ans.Remaining, 10)
	b = strconv.AppendUint(append(b, `,"seq":`...), ans.Seq, 10)
	writeJSONBuf(ctx, http.StatusOK, append(b, '}'))
}

// license serves GET /v1/licenses/{id}.
func (s *Server) license(ctx *fasthttp.RequestCtx, _ []byte) {
	id := string(ctx.Path()[len("/v1/licenses/"):])
	v, err := s.e.License(id)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	s.writeDoc(ctx, licenseDoc(&v))
}

// healthz serves GET /healthz: 200 when the WAL and the usage database take writes.
func (s *Server) healthz(ctx *fasthttp.RequestCtx, _ []byte) {
	if err := s.e.Health(); err != nil {
		status, code := httpStatus(err)
		if status != http.StatusServiceUnavailable {
			code = "unhealthy"
		}
		writeError(ctx, http.StatusServiceUnavailable, code, err.Error())
		return
	}
	writeJSON(ctx, http.StatusOK, []byte(`{"status":"ok"}`))
}

// peerAddr is the connection's remote address, without allocating: one of ours knows it
// from when it was accepted.
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if c, ok := ctx.Conn().(*conn); ok {
		return c.peer
	}
	return remoteAddr(ctx.RemoteAddr())
}

// remoteAddr is a's IP, an IPv4 one unmapped; none for an address that is not TCP's.
func remoteAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
