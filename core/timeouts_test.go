package core_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dial opens a raw connection to the agent.
func (a *agent) dial() net.Conn {
	a.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(a.base, "http://"))
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { c.Close() })
	return c
}

// closedQuietly reports whether the server closed c without sending anything more; it waits
// at most 10 s.
func closedQuietly(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if len(b) > 0 || err != nil {
		t.Logf("read %q, %v", b, err)
		return false
	}
	return true
}

// readAnswer reads one response from c.
func readAnswer(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

// Slow is not idle: a request whose headers or body do not arrive in time is answered 408
// and its connection closed; a connection that sends nothing, before its first request or
// between requests, is closed without a word after IDLE_TIMEOUT and is served at any time
// before.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.HeaderTimeout, cfg.BodyTimeout, cfg.IdleTimeout = 100*time.Millisecond, 200*time.Millisecond, 400*time.Millisecond
	a := startAgent(t, cfg, noOpts())
	// Each piece comes within the timeout of the one before; the timeout counts from the
	// first byte (or the headers' end), so the whole is too slow.
	const gap = 60 * time.Millisecond
	slow := func(name string, warm bool, parts ...string) {
		t.Helper()
		c := a.dial()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if warm { // not the connection's first request: fasthttp's own deadlines apply
			io.WriteString(c, healthz)
			if resp, _ := readAnswer(t, br); resp.StatusCode != 200 {
				t.Fatalf("%s: healthz %d", name, resp.StatusCode)
			}
		}
		for i, p := range parts {
			if i > 0 {
				time.Sleep(gap)
			}
			io.WriteString(c, p)
		}
		resp, body := readAnswer(t, br)
		if resp.StatusCode != 408 || !strings.Contains(body, `"request_timeout"`) {
			t.Errorf("%s: %d %s, want 408 request_timeout", name, resp.StatusCode, body)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("%s: connection still open after the 408 (%v)", name, err)
		}
	}
	const post = "POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	for _, warm := range []bool{false, true} {
		slow("half a header", warm, "GET /healthz HTTP/1.1\r\nHo")
		slow("a header in pieces", warm, "G", "ET /heal", "thz HTTP/1.1\r\n", "Host: 127.0.0.1\r\n", "X-A: 1\r\n", "\r\n")
		slow("half a body", warm, post+"Content-Length: 40\r\n\r\n{\"units\"")
		slow("a body in pieces", warm, post+"Content-Length: 9\r\n\r\n{", " ", " ", " ", " ", " ", " ", " ", "}")
	}

	t.Run("a new connection idles out quietly", func(t *testing.T) {
		if !closedQuietly(t, a.dial()) {
			t.Fatal("an idle new connection got an answer it did not ask for")
		}
	})
	t.Run("a keep-alive connection idles out quietly", func(t *testing.T) {
		c := a.dial()
		io.WriteString(c, healthz)
		br := bufio.NewReader(c)
		if resp, _ := readAnswer(t, br); resp.StatusCode != 200 {
			t.Fatalf("healthz: %d", resp.StatusCode)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if b, err := io.ReadAll(br); len(b) > 0 || err != nil {
			t.Fatalf("an idle keep-alive connection got %q, %v", b, err)
		}
	})
	t.Run("a body slower than the header timeout is served", func(t *testing.T) {
		cfg := newTestConfig(t)
		cfg.HeaderTimeout, cfg.BodyTimeout, cfg.IdleTimeout = 100*time.Millisecond, 5*time.Second, time.Minute
		a := startAgent(t, cfg, noOpts())
		c := a.dial()
		br := bufio.NewReader(c)
		for range 2 { // the connection's first request, then a later one
			io.WriteString(c, "POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{")
			time.Sleep(3 * cfg.HeaderTimeout) // the body deadline, not the headers', applies now
			io.WriteString(c, "}")
			if resp, body := readAnswer(t, br); resp.StatusCode != 400 || !strings.Contains(body, `"invalid_request"`) {
				t.Fatalf("a slow body within BODY_TIMEOUT: %d %s, want 400 invalid_request", resp.StatusCode, body)
			}
		}
	})
	t.Run("idle longer than the header timeout is served", func(t *testing.T) {
		cfg := newTestConfig(t)
		cfg.HeaderTimeout, cfg.IdleTimeout = 100*time.Millisecond, time.Minute
		a := startAgent(t, cfg, noOpts())
		c := a.dial()
		br := bufio.NewReader(c)
		for range 2 { // before the first request, then between requests
			time.Sleep(3 * cfg.HeaderTimeout)
			io.WriteString(c, healthz)
			if resp, _ := readAnswer(t, br); resp.StatusCode != 200 {
				t.Fatalf("healthz after an idle wait: %d", resp.StatusCode)
			}
		}
	})
}

// Past MAX_CONNS a new connection is closed at once, unanswered, and counted; the ones open
// go on, and a close makes room.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	cfg := newTestConfig(t)
	cfg.MaxConns = 3
	a := startAgent(t, cfg, noOpts())
	var held []*bufio.ReadWriter
	for range cfg.MaxConns {
		c := a.dial()
		rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
		io.WriteString(c, healthz) // answered: so the server has accepted it
		if resp, _ := readAnswer(t, rw.Reader); resp.StatusCode != 200 {
			t.Fatalf("healthz: %d", resp.StatusCode)
		}
		held = append(held, rw)
	}
	// The refusal is a reset, which may reach the client before its connect returns.
	if extra, err := net.Dial("tcp", strings.TrimPrefix(a.base, "http://")); err == nil {
		io.WriteString(extra, healthz)
		extra.SetReadDeadline(time.Now().Add(10 * time.Second))
		if b, err := io.ReadAll(extra); len(b) > 0 || isTimeout(err) {
			t.Fatalf("a connection past MAX_CONNS got %q, %v; want it closed unanswered", b, err)
		}
		extra.Close()
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	c0 := held[0]
	c0.WriteString("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	c0.Flush()
	_, metrics := readAnswer(t, c0.Reader)
	if !strings.Contains(metrics, "meterd_connections_refused_total 1\n") || !strings.Contains(metrics, "meterd_connections_open 3\n") {
		t.Fatalf("metrics after one refusal:\n%s", grep(metrics, "meterd_connections"))
	}
	c0.WriteString("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	c0.Flush()
	readAnswer(t, c0.Reader)
	// The server closes its side after answering; until it has, a new connection may still
	// be refused, so try until one is served.
	deadline := time.Now().Add(10 * time.Second)
	for !served(a) {
		if time.Now().After(deadline) {
			t.Fatal("no room after a connection closed")
		}
	}
}

// served reports whether a new connection is answered.
func served(a *agent) bool {
	c, err := net.Dial("tcp", strings.TrimPrefix(a.base, "http://"))
	if err != nil {
		return false
	}
	defer c.Close()
	io.WriteString(c, healthz)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	return err == nil && resp.StatusCode == 200
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
