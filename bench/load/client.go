package main

import (
	"bytes"
	"fmt"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// httpLoad sends consume requests (or batches of them) over keep-alive connections, one
// request in flight per connection.
type httpLoad struct {
	hc    *fasthttp.HostClient
	uri   string
	mix   *mix
	batch int // 0: POST /v1/consume; n: POST /v1/consume:batch with n items
	pid   int // the server's process when it is not this one; 0 when it is
}

// serverCPU is the CPU time of the server's process, when it is not this one.
func (l *httpLoad) serverCPU() time.Duration {
	if l.pid == 0 {
		return 0
	}
	return pidCPU(l.pid)
}

// newHTTPLoad drives the server at base, whose process is pid (0: this one).
func newHTTPLoad(base string, pid, conns int, m *mix, batch int) (*httpLoad, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("want an http://host:port URL, got %q", base)
	}
	path := "/v1/consume"
	if batch > 0 {
		path = "/v1/consume:batch"
	}
	return &httpLoad{hc: newHostClient(u.Host, conns), uri: "http://" + u.Host + path, mix: m, batch: batch, pid: pid}, nil
}

func newHostClient(addr string, conns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                addr,
		MaxConns:            conns,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		MaxConnWaitTimeout:  30 * time.Second,
	}
}

func (l *httpLoad) worker(id int) (worker, error) {
	w := &httpWorker{l: l, gen: newBodyGen(l.mix, id)}
	w.req.Header.SetMethod(fasthttp.MethodPost)
	w.req.SetRequestURI(l.uri)
	w.req.Header.SetContentType("application/json")
	return w, nil
}

func (l *httpLoad) closeIdle() { l.hc.CloseIdleConnections() }

type httpWorker struct {
	l    *httpLoad
	gen  *bodyGen
	req  fasthttp.Request
	resp fasthttp.Response
	body []byte
	key  []byte
}

func (w *httpWorker) do(t *tally) {
	if w.l.batch > 0 {
		w.body = w.gen.appendBatch(w.body[:0], w.l.batch)
	} else {
		w.body = w.gen.appendConsume(w.body[:0])
		w.setKey()
	}
	w.req.SetBody(w.body)
	if err := w.l.hc.Do(&w.req, &w.resp); err != nil {
		t.fail(err)
		time.Sleep(time.Millisecond) // a refused connection fails at once; do not spin
		return
	}
	if w.l.batch > 0 {
		countBatch(t, w.resp.StatusCode(), w.resp.Body(), w.l.batch)
		return
	}
	countOne(t, w.resp.StatusCode(), w.resp.Body())
}

// setKey gives the request a fresh Idempotency-Key, or none, as the mix draws.
func (w *httpWorker) setKey() {
	if !w.gen.keyed() {
		w.req.Header.Del("Idempotency-Key")
		return
	}
	w.key = w.gen.appendKey(w.key[:0])
	w.req.Header.SetBytesV("Idempotency-Key", w.key)
}

func (w *httpWorker) close() {}

// countOne classifies a consume answer: 200 grant, 409 denial, anything else unexpected.
func countOne(t *tally, status int, body []byte) {
	switch status {
	case fasthttp.StatusOK:
		t.grants++
		t.decisions++
	case fasthttp.StatusConflict:
		t.denies++
		t.decisions++
	default:
		t.unexpected("HTTP %d: %.200s", status, body)
	}
}

// Results of a batch answer, as core writes them: {"results":[{"status":200,…},…]}.
var (
	batchGrant = []byte(`{"status":200,`)
	batchDeny  = []byte(`{"status":409,`)
)

// countBatch classifies a batch answer's results by counting their status fields; a result
// that is neither a grant nor a denial counts as unexpected.
func countBatch(t *tally, status int, body []byte, n int) {
	if status != fasthttp.StatusOK {
		t.unexpected("HTTP %d: %.200s", status, body)
		return
	}
	g, d := bytes.Count(body, batchGrant), bytes.Count(body, batchDeny)
	t.grants += uint64(g)
	t.denies += uint64(d)
	t.decisions += uint64(g + d)
	if rest := n - g - d; rest > 0 {
		t.other += uint64(rest)
		if t.firstErr == nil {
			t.firstErr = fmt.Errorf("batch result: %.300s", body)
		}
	}
}
