package httpapi

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// connLimit counts the server's open connections against MAX_CONNS, across its listeners. A
// connection counts until its socket is closed for good, lingering included, because that is
// when its descriptor and buffers are free.
type connLimit struct {
	max  int64
	open atomic.Int64
}

// connListener accepts at most MAX_CONNS connections at once and wraps each in a conn.
//
// fasthttp's own deadlines cover all but a connection's first request: it arms ReadTimeout
// when the connection opens, not when the request's first byte arrives, and answers a
// connection that sent nothing by then with an error. So until its first byte a conn waits
// under IDLE_TIMEOUT and turns the expiry into end of stream (fasthttp then closes without an
// answer), and the first byte arms HEADER_TIMEOUT. Later requests run on fasthttp's
// IdleTimeout (quiet) and ReadTimeout, which it re-arms at each request's first byte; the
// HeaderReceived hook arms BODY_TIMEOUT.
type connListener struct {
	net.Listener
	lim           *connLimit
	s             *Server
	idle, header  time.Duration
	acceptBackoff time.Duration
}

func (l *connListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !l.waitOut(err) {
				return nil, err
			}
			continue
		}
		l.acceptBackoff = 0
		tc, ok := c.(*net.TCPConn)
		if !ok {
			return c, nil
		}
		if l.lim.open.Add(1) > l.lim.max {
			l.lim.open.Add(-1)
			tc.SetLinger(0) // a reset, at once: nothing of it stays behind in TIME_WAIT
			tc.Close()
			l.s.metrics.connsRefused.Inc()
			continue
		}
		l.s.metrics.connsOpen.Inc()
		tc.SetReadDeadline(time.Now().Add(l.idle))
		return &conn{TCPConn: tc, l: l, fresh: true}, nil
	}
}

// waitOut sleeps through an accept error that passes (out of descriptors, a connection
// aborted before it was accepted) and reports whether to try again. fasthttp takes any
// accept error but a timeout for the end of its listener: without this, a flood that
// exhausts the descriptor limit would stop the agent.
func (l *connListener) waitOut(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED:
	default:
		return false
	}
	l.acceptBackoff = min(max(2*l.acceptBackoff, 5*time.Millisecond), time.Second)
	if ok, dropped := l.s.acceptLog.Allow(time.Now()); ok {
		l.s.logger.Warn("accept failed; retrying", "err", err, "retry_in", l.acceptBackoff, "suppressed", dropped)
	}
	time.Sleep(l.acceptBackoff)
	return true
}

// conn is one accepted connection: see connListener for its deadlines and linger.go for how
// it closes.
type conn struct {
	*net.TCPConn
	l *connListener
	// fresh: no byte has arrived yet. Only the connection's serving goroutine reads it (Read
	// and SetReadDeadline are never called concurrently by fasthttp).
	fresh  bool
	linger atomic.Bool
	once   sync.Once
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if !c.fresh {
		return n, err
	}
	if n > 0 {
		c.fresh = false
		c.TCPConn.SetReadDeadline(time.Now().Add(c.l.header))
		return n, err
	}
	// Idle out, reset or closed before saying anything: end of stream, so no answer.
	return 0, io.EOF
}

// SetReadDeadline keeps the idle deadline of a connection that has sent nothing yet.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.fresh {
		return nil
	}
	return c.TCPConn.SetReadDeadline(t)
}

// released is called once the socket is closed for good.
func (c *conn) released() {
	c.l.lim.open.Add(-1)
	c.l.s.metrics.connsOpen.Dec()
}
