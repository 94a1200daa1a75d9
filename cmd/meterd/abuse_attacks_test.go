package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
)

// target is the agent under attack, as the attacks see it.
type target struct {
	addr, port string
	license    string
	token      string
	cfg        abuseConfig
}

// abuseConfig is what the agent under attack runs with (short timeouts, so the suite is quick).
type abuseConfig struct {
	header, body, idle time.Duration
	maxConns, maxKeys  int
}

func (c abuseConfig) flags() []string {
	return []string{"-header-timeout", c.header.String(), "-body-timeout", c.body.String(),
		"-idle-timeout", c.idle.String(), "-max-conns", fmt.Sprint(c.maxConns),
		"-idempotency-max-keys", fmt.Sprint(c.maxKeys)}
}

// closeSlack is what "closed within its timeout" allows beyond the timeout: the scheduling
// of hundreds of connections on two shared cores.
const closeSlack = 1500 * time.Millisecond

// watch reads c until it closes and reports, on done, what arrived and when it closed; its
// read deadline is far past any timeout, so a connection left open is reported as such.
type closed struct {
	at   time.Time
	got  []byte
	err  error // io.EOF, a reset, or a timeout when the agent never closed it
	open bool
}

func watch(c net.Conn, limit time.Duration, done chan<- closed) {
	c.SetReadDeadline(time.Now().Add(limit))
	got, err := io.ReadAll(c)
	var ne net.Error
	open := errors.As(err, &ne) && ne.Timeout()
	done <- closed{at: time.Now(), got: got, err: err, open: open}
	c.Close()
}

// dialMany opens n connections, 32 at a time, and hands each to f, or its dial error.
func dialMany(addr string, n int, f func(i int, c net.Conn, err error)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			<-sem
			f(i, c, err)
		}()
	}
	wg.Wait()
}

// slowAttack holds n connections that each send first and then nothing more, and checks that
// every one is answered 408 and closed within timeout of when it sent first.
func slowAttack(t *testing.T, x target, what string, n int, first string, timeout time.Duration) string {
	sent := make([]time.Time, n)
	done := make([]chan closed, n)
	for i := range done {
		done[i] = make(chan closed, 1)
	}
	dialMany(x.addr, n, func(i int, c net.Conn, err error) {
		if err != nil {
			t.Errorf("%s: dial: %v", what, err)
			return
		}
		sent[i] = time.Now()
		io.WriteString(c, first)
		go watch(c, timeout+30*time.Second, done[i])
	})
	worst := time.Duration(0)
	for i := range done {
		if sent[i].IsZero() {
			continue
		}
		cl := <-done[i]
		took := cl.at.Sub(sent[i])
		worst = max(worst, took)
		switch {
		case cl.open:
			t.Errorf("%s: connection %d still open %v after it stalled", what, i, took)
		case !bytes.HasPrefix(cl.got, []byte("HTTP/1.1 408")) || !bytes.Contains(cl.got, []byte(`"request_timeout"`)):
			t.Errorf("%s: connection %d got %q, want 408 request_timeout", what, i, cl.got)
		case took > timeout+closeSlack:
			t.Errorf("%s: connection %d closed %v after it stalled, past %v + %v", what, i, took, timeout, closeSlack)
		}
	}
	return fmt.Sprintf("%d connections, all 408 and closed, the last %v after it stalled (timeout %v)", n, worst.Round(time.Millisecond), timeout)
}

// rebinding sends what a page rebound to 127.0.0.1, or calling it from another origin, can
// make a browser send, with bodies that would spend units, and the admin token where it fits.
func rebinding(t *testing.T, x target) string {
	consume := `{"license":"` + x.license + `","units":5}`
	evil := "evil.example:" + x.port
	cases := []struct {
		req    []byte
		status string
		code   string
	}{
		{httpReq("POST", "/v1/consume", evil, "", consume), "421", "misdirected_request"},
		{httpReq("POST", "/v1/consume:batch", evil, "", `{"requests":[`+consume+`]}`), "421", "misdirected_request"},
		{httpReq("GET", "/metrics", evil, "", ""), "421", "misdirected_request"},
		{httpReq("GET", "/healthz", evil, "", ""), "421", "misdirected_request"},
		{httpReq("PUT", "/products/evil", evil, "Authorization: Bearer "+x.token+"\r\n",
			`{"licensedItem":"Evil","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT"}`), "421", "misdirected_request"},
		{httpReq("POST", "/v1/consume", x.addr, "Origin: http://evil.example\r\n", consume), "403", "forbidden_origin"},
		{httpReq("GET", "/metrics", x.addr, "Origin: http://"+evil+"\r\n", ""), "403", "forbidden_origin"},
		{httpReq("POST", "/v1/checkin", x.addr, "Origin: null\r\n", `{"license":"`+x.license+`","session":"s"}`), "403", "forbidden_origin"},
		{httpReq("OPTIONS", "/v1/consume", x.addr, "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n", ""), "403", "forbidden_origin"},
		{httpReq("OPTIONS", "/v1/consume", x.addr, "Origin: http://localhost\r\nAccess-Control-Request-Method: POST\r\n", ""), "403", "forbidden"},
		{httpReq("OPTIONS", "/metrics", x.addr, "", ""), "403", "forbidden"},
	}
	const rounds = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for _, cs := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				c, err := dialRaw(x.addr)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				resp, body, err := c.do(cs.req)
				c.c.Close()
				switch {
				case err != nil:
					t.Errorf("%.40q: %v", cs.req, err)
					return
				case fmt.Sprint(resp.StatusCode) != cs.status || !bytes.Contains(body, []byte(`"`+cs.code+`"`)):
					t.Errorf("%.40q: %d %s, want %s %s", cs.req, resp.StatusCode, body, cs.status, cs.code)
					return
				}
				for k := range resp.Header {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("%.40q: answered with %s", cs.req, k)
					}
				}
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return fmt.Sprintf("%d requests (foreign Host, foreign Origin, OPTIONS), all 421 or 403, no CORS headers", sent)
}

// declaredBodies has n connections declare a batch body of 4,194,000 bytes and send one
// byte of it, and checks that each is closed within the body timeout.
func declaredBodies(t *testing.T, x target, n int) string {
	head := fmt.Sprintf("POST /v1/consume:batch HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 4194000\r\n\r\n{", x.addr)
	return slowAttack(t, x, "declared bodies", n, head, x.cfg.body)
}

// flood opens more connections than MAX_CONNS leaves room for and sends nothing: the extra
// ones are closed at once, unanswered, and counted; the others are idle and closed, also
// unanswered, after IDLE_TIMEOUT.
func flood(t *testing.T, x target, n int) string {
	refusedBefore := metricValue(t, x.addr, "meterd_connections_refused_total")
	opened := make([]time.Time, n)
	done := make([]chan closed, n)
	for i := range done {
		done[i] = make(chan closed, 1)
	}
	dialMany(x.addr, n, func(i int, c net.Conn, err error) {
		opened[i] = time.Now()
		switch {
		case errors.Is(err, syscall.ECONNRESET): // refused before connect returned
			done[i] <- closed{at: time.Now(), err: err}
		case err != nil:
			t.Errorf("flood: dial: %v", err)
			done[i] <- closed{at: time.Now(), err: err, open: true}
		default:
			go watch(c, x.cfg.idle+30*time.Second, done[i])
		}
	})
	refused, idled := 0, 0
	var worstRefused, worstIdle time.Duration
	for i := range done {
		cl := <-done[i]
		took := cl.at.Sub(opened[i])
		switch {
		case cl.open:
			t.Errorf("flood: connection %d still open after %v", i, took)
		case len(cl.got) > 0:
			t.Errorf("flood: connection %d sent nothing and got %q", i, cl.got)
		case took < x.cfg.idle/2:
			refused++
			worstRefused = max(worstRefused, took)
		default:
			idled++
			worstIdle = max(worstIdle, took)
			if took > x.cfg.idle+closeSlack {
				t.Errorf("flood: idle connection %d closed after %v, past %v + %v", i, took, x.cfg.idle, closeSlack)
			}
		}
	}
	counted := int(metricValue(t, x.addr, "meterd_connections_refused_total") - refusedBefore)
	if excess := n - x.cfg.maxConns; refused < excess || counted != refused {
		t.Errorf("flood: %d of %d connections refused, %d counted; want at least %d, all counted", refused, n, counted, excess)
	}
	return fmt.Sprintf("%d connections: %d refused at once (the last after %v) and counted, %d closed idle without an answer after at most %v",
		n, refused, worstRefused.Round(time.Millisecond), idled, worstIdle.Round(time.Millisecond))
}

// keyFlood fills IDEMPOTENCY_MAX_KEYS with keyed requests that are denied (so they take
// nothing), then checks that new keys get 429 too_many_keys with Retry-After.
func keyFlood(t *testing.T, x target) string {
	c, err := client.New("http://"+x.addr, client.Options{Attempts: 1, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdle()
	denied, tooMany := 0, 0
	for b := range (x.cfg.maxKeys + 1000) / 1000 {
		reqs := make([]client.ConsumeRequest, 1000)
		for i := range reqs {
			reqs[i] = client.ConsumeRequest{License: x.license, Units: 1_000_000_000, IdempotencyKey: fmt.Sprintf("flood-%d-%d", b, i)}
		}
		res, err := c.ConsumeBatch(context.Background(), reqs)
		if err != nil {
			t.Fatalf("key flood batch %d: %v", b, err)
		}
		for i, r := range res {
			var api *client.APIError
			switch {
			case r.Err == nil && !r.Granted && r.Reason == "exhausted":
				denied++
			case errors.As(r.Err, &api) && api.Code == "too_many_keys":
				tooMany++
				if api.RetryAfter <= 0 {
					t.Errorf("key flood: batch %d request %d refused without Retry-After", b, i)
				}
			}
		}
	}
	_, err = c.Consume(context.Background(), client.ConsumeRequest{License: x.license, Units: 1, IdempotencyKey: "one-more"})
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != 429 || api.Code != "too_many_keys" || api.RetryAfter <= 0 {
		t.Errorf("a new key past the limit: %v, want 429 too_many_keys with Retry-After", err)
	}
	if denied != x.cfg.maxKeys || tooMany != 1000*((x.cfg.maxKeys+1000)/1000)-x.cfg.maxKeys {
		t.Errorf("key flood: %d denied and remembered, %d refused; want %d remembered, the rest refused", denied, tooMany, x.cfg.maxKeys)
	}
	if held := metricValue(t, x.addr, "meterd_idempotency_keys"); int(held) != x.cfg.maxKeys {
		t.Errorf("meterd_idempotency_keys %v, want %d", held, x.cfg.maxKeys)
	}
	return fmt.Sprintf("%d keyed denials remembered, %d more keys refused 429 too_many_keys with Retry-After (a single one too)", denied, tooMany)
}

// malformed sends requests the parser rejects, each carrying the admin token, and checks that
// no answer holds it (the log is checked at the end of the suite).
func malformed(t *testing.T, x target) string {
	auth := "Authorization: Bearer " + x.token + "\r\n"
	host := "Host: " + x.addr + "\r\nConnection: close\r\n"
	reqs := []string{
		"POST /products/p HTTP/1.1\r\n" + host + auth + "Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
		"POST /v1/consume\r\n" + host + auth + "\r\n",
		"GET /healthz HTTP/1.1\r\n" + host + auth + "Content-Length: 99999999999999999999\r\n\r\n",
		"G@T /healthz HTTP/1.1\r\n" + host + auth + "\r\n",
		"GET /healthz HTTP/1.1\r\n" + host + auth + "X-Pad: " + strings.Repeat("a", 5000) + "\r\n\r\n",
		"POST /organizations/o/license-transactions HTTP/1.1\r\n" + host + auth + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
		"POST /v1/consume HTTP/1.1\r\n" + host + auth + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /organizations/o/licenses HTTP/1.1\r\nHost: [::1\r\n" + auth + "\r\n",
		"GET /organizations/o/licenses HTTP/1.1\r\n" + host + auth + "Bad Header\r\n\r\n",
		"GET /organizations/o/licenses HTTP/1.1\r\n" + host + auth + "X: a\x00b\r\n\r\n",
		auth + host + "\r\n",
	}
	const rounds = 20
	n := 0
	for range rounds {
		for _, r := range reqs {
			c, err := net.Dial("tcp", x.addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, r)
			done := make(chan closed, 1)
			watch(c, 30*time.Second, done)
			cl := <-done
			n++
			switch {
			case bytes.Contains(cl.got, []byte(x.token[:16])) || bytes.Contains(cl.got, []byte(x.token[16:32])):
				t.Errorf("the answer to %.50q holds the token: %q", r, cl.got)
			case !bytes.HasPrefix(cl.got, []byte("HTTP/1.1 4")) || !bytes.Contains(cl.got, []byte(`{"error":`)):
				t.Errorf("%.50q: got %q, want a 4xx JSON error and the connection closed", r, cl.got)
			}
		}
	}
	return fmt.Sprintf("%d malformed requests carrying the token: each a 4xx JSON error without it", n)
}
