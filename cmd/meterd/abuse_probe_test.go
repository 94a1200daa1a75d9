package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
)

// raiseFileLimit lifts the soft open-file limit to at least n (within the hard limit), for
// the attack connections this process holds; it skips the test when the hard limit is lower.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("the open-file hard limit is %d; this test needs %d", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}

// rawConn is one keep-alive HTTP/1.1 connection written by hand.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, br: bufio.NewReader(c)}, nil
}

// do sends req and reads its answer.
func (r *rawConn) do(req []byte) (*http.Response, []byte, error) {
	r.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := r.c.Write(req); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, err
}

// httpReq spells one request; extra header lines end in \r\n.
func httpReq(method, path, host, extra, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n%s", method, path, host, extra)
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.Bytes()
}

// sample is one legitimate consume: when it started, how long it took, whether it was granted.
type sample struct {
	at      time.Time
	latency time.Duration
	ok      bool
}

// legit is the licensed application: one keep-alive connection, consuming one unit every
// pace, timing each answer; each consume is sent once, so that every failure shows.
type legit struct {
	mu       sync.Mutex
	samples  []sample
	failures []string
	stop     chan struct{}
	done     chan struct{}
}

func startLegit(base, license string, pace time.Duration) (*legit, error) {
	c, err := client.New(base, client.Options{Attempts: 1, MaxConns: 1})
	if err != nil {
		return nil, err
	}
	l := &legit{stop: make(chan struct{}), done: make(chan struct{})}
	req := client.ConsumeRequest{License: license, Units: 1, User: "app", Host: "ws-1", IP: "127.0.0.1"}
	go func() {
		defer close(l.done)
		defer c.CloseIdle()
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(pace):
			}
			start := time.Now()
			d, err := c.Consume(context.Background(), req)
			s := sample{at: start, latency: time.Since(start), ok: err == nil && d.Granted}
			l.mu.Lock()
			l.samples = append(l.samples, s)
			if !s.ok {
				l.failures = append(l.failures, fmt.Sprintf("%s: %+v %v", start.Format("15:04:05.000"), d, err))
			}
			l.mu.Unlock()
		}
	}()
	return l, nil
}

func (l *legit) halt() {
	close(l.stop)
	<-l.done
}

// between returns the samples that started in [from, to).
func (l *legit) between(from, to time.Time) []sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sample
	for _, s := range l.samples {
		if !s.at.Before(from) && s.at.Before(to) {
			out = append(out, s)
		}
	}
	return out
}

// granted counts the consumes answered 200: one unit each.
func (l *legit) granted() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := int64(0)
	for _, s := range l.samples {
		if s.ok {
			n++
		}
	}
	return n
}

// percentile of the latencies of ss, q in [0, 1].
func percentile(ss []sample, q float64) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	lat := make([]time.Duration, len(ss))
	for i, s := range ss {
		lat[i] = s.latency
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(q*float64(len(lat))))]
}

// rssSampler reads meterd's VmRSS every 50 ms.
type rssSampler struct {
	mu      sync.Mutex
	samples []rssSample
	stop    chan struct{}
	done    chan struct{}
}

type rssSample struct {
	at  time.Time
	rss int64 // bytes
}

func startRSS(pid int) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := vmRSS(pid); err == nil {
				r.mu.Lock()
				r.samples = append(r.samples, rssSample{time.Now(), v})
				r.mu.Unlock()
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rssSampler) halt() {
	close(r.stop)
	<-r.done
}

// max is the highest RSS sampled in [from, to).
func (r *rssSampler) max(from, to time.Time) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := int64(0)
	for _, s := range r.samples {
		if !s.at.Before(from) && s.at.Before(to) {
			m = max(m, s.rss)
		}
	}
	return m
}

func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// metricValue reads one unlabelled sample from meterd's /metrics over a new connection, closed
// after the answer.
func metricValue(t *testing.T, addr, name string) float64 {
	t.Helper()
	c, err := client.New("http://"+addr, client.Options{Attempts: 1, DisableKeepAlives: true})
	if err != nil {
		t.Fatal(err)
	}
	text, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
