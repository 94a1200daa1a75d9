package client_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/meterd/meterd/core/client"
)

// seen is one request as the fake meterd received it.
type seen struct {
	method, path   string
	key, auth, sig string
	body           string
}

// step answers one request; the fake plays its steps in order and repeats the last.
type step func(w http.ResponseWriter)

// fake is a scripted meterd on 127.0.0.1 that records every request it gets.
type fake struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	steps []step
	got   []seen
}

func newFake(t *testing.T, steps ...step) *fake {
	t.Helper()
	f := &fake{t: t, steps: steps}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.got)
	f.got = append(f.got, seen{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization"),
		r.Header.Get("Meterd-Signature"), string(body)})
	s := f.steps[min(n, len(f.steps)-1)]
	f.mu.Unlock()
	s(w)
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// client of the fake with fast retries.
func (f *fake) client(o client.Options) *client.Client {
	f.t.Helper()
	o.Backoff, o.MaxBackoff = max(o.Backoff, 1), max(o.MaxBackoff, 5e6) // 5 ms
	c, err := client.New(f.srv.URL, o)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.CloseIdle)
	return c
}

// answer writes status and body as meterd would.
func answer(status int, body string) step {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangUp closes the connection without an answer, as a killed agent does.
func hangUp(w http.ResponseWriter) {
	c, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		c.Close()
	}
}

const (
	grant       = `{"granted":true,"license":"L1","units":4,"remaining":6,"seq":17}`
	denial      = `{"granted":false,"reason":"exhausted","license":"L1","remaining":3}`
	unavailable = `{"error":"wal_unavailable","message":"write-ahead log unavailable"}`
)
