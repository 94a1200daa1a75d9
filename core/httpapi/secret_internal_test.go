package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/internal/throttle"
)

// FuzzTokenNeverLeaks sends raw request bytes carrying the admin token in an Authorization
// header line and checks that no answer and no log line holds the token, or any 16
// characters of it, whatever the parser makes of the rest.
//
//	go test ./core -run '^$' -fuzz FuzzTokenNeverLeaks -fuzztime 100000x
func FuzzTokenNeverLeaks(f *testing.F) {
	for _, seed := range []string{
		"POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
		"POST /products/p HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
		"POST /v1/consume\r\nHost: 127.0.0.1\r\n\r\n", // no version: fasthttp quotes the whole buffer
		"GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
		"G@T /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"GET  HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: [::1\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + strings.Repeat("a", 5000) + "\r\n\r\n",
		"POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
		"POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 90\r\n\r\n{\"license\":\"x\"",
		"PUT /products/p HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n{\"licensedItem\":\"P\",\"trackingMode\":\"TRACK_BY_CALLER_CONSUMPTION_COUNT\"}",
		"GET /organizations/o/licenses HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n\r\n",
		"POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
		"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
	} {
		f.Add([]byte(seed), uint8(0))
	}
	h := newLeakHarness(f)
	f.Fuzz(func(t *testing.T, raw []byte, at uint8) {
		if bytes.Contains(raw, h.token[:16]) {
			t.Skip("the input already holds part of the token")
		}
		answer, logged := h.serve(insertHeader(raw, int(at), "Authorization: Bearer "+string(h.token)+"\r\n"))
		for _, out := range []struct{ what, text string }{{"answer", answer}, {"log", logged}} {
			if w := h.leak(out.text); w != "" {
				t.Fatalf("the %s holds %q of the token:\n%s", out.what, w, out.text)
			}
		}
	})
}

// insertHeader puts line into raw at a line boundary of its header block, the at'th one
// modulo how many there are (after the request line at least), as a client would send it.
func insertHeader(raw []byte, at int, line string) []byte {
	head := raw
	if end := bytes.Index(raw, []byte("\r\n\r\n")); end >= 0 {
		head = raw[:end+2]
	}
	var bounds []int
	for i, c := range head {
		if c == '\n' {
			bounds = append(bounds, i+1)
		}
	}
	if len(bounds) == 0 {
		return append(append(append([]byte{}, raw...), "\r\n"...), line...)
	}
	i := bounds[at%len(bounds)]
	return append(append(append([]byte{}, raw[:i]...), line...), raw[i:]...)
}

// leakHarness serves requests through Server.Serve, as meterd does, with every fasthttp log
// line let through.
type leakHarness struct {
	token []byte
	conns chan net.Conn
	log   syncBuffer
}

func newLeakHarness(tb testing.TB) *leakHarness {
	var b [32]byte
	rand.Read(b[:])
	h := &leakHarness{token: []byte(hex.EncodeToString(b[:])), conns: make(chan net.Conn)}
	ln := chanListener{h.conns, make(chan struct{}), new(sync.Once)}
	cfg := config.Default()
	cfg.DataDir, cfg.Durability, cfg.UsageDatabase = tb.TempDir(), config.DurabilityAsync, config.UsageOff
	e, err := core.Open(cfg, core.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(&h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewServer(e, string(h.token), logger)
	s.parseLog = throttle.Throttle{} // no period: every line is logged
	go s.Serve(ln)
	tb.Cleanup(func() {
		s.srv.Shutdown()
		e.Close()
	})
	return h
}

// serve sends raw as one connection's bytes and returns what the server wrote back and what
// it logged meanwhile.
func (h *leakHarness) serve(raw []byte) (answer, logged string) {
	c := &memConn{r: bytes.NewReader(raw), closed: make(chan struct{})}
	mark := h.log.Len()
	h.conns <- c
	select {
	case <-c.closed: // the server closes a connection after it has logged its error
	case <-time.After(time.Minute):
		panic(fmt.Sprintf("request %q not served within a minute", raw))
	}
	return c.w.String(), h.log.String()[mark:]
}

// leak returns the first 16-character window of the token found in s, or "".
func (h *leakHarness) leak(s string) string {
	for i := 0; i+16 <= len(h.token); i++ {
		if w := string(h.token[i : i+16]); strings.Contains(s, w) {
			return w
		}
	}
	return ""
}

// chanListener accepts the connections sent on its channel until it is closed.
type chanListener struct {
	c    chan net.Conn
	done chan struct{}
	once *sync.Once
}

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l chanListener) Addr() net.Addr { return memAddr }

var memAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8787}

// memConn reads a fixed input, then end of stream, and keeps what is written.
type memConn struct {
	r      io.Reader
	w      syncBuffer
	once   sync.Once
	closed chan struct{}
}

func (c *memConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *memConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr              { return memAddr }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
