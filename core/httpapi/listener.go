package httpapi

import (
	"errors"
	"io"
	"net"
	"net/netip"
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
		idle := time.Now().Add(l.idle)
		tc.SetReadDeadline(idle)
		return &conn{TCPConn: tc, l: l, peer: remoteAddr(tc.RemoteAddr()), fresh: true, readBy: idle, readArmed: idle}, nil
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
//
// Its read deadline is armed lazily. fasthttp sets one three times a request (the idle wait,
// the headers, the body), and each is a timer update in the runtime's poller (with the write
// deadline's, 4 % of all CPU in bench/load's async row). A deadline only acts on a Read, and
// a small request arrives whole in the Read that ends the idle wait, so the conn keeps the
// deadline asked for and arms it before the next Read. Both deadlines are armed up to a
// slack late (HEADER_TIMEOUT/30 and writeSlack), and one already armed is kept while it falls
// from the time asked to that slack later: a busy connection then updates each about once a
// slack instead of once a request. The timeouts are bounds on a slow or silent client, not
// promises to the second, and 1/30 later changes no answer.
type conn struct {
	*net.TCPConn
	l    *connListener
	peer netip.Addr // the client's address, for the usage database
	// Only the connection's serving goroutine uses these: fasthttp calls Read and the
	// deadline setters from it alone.
	fresh      bool      // no byte has arrived yet
	readBy     time.Time // the read deadline asked for last
	readArmed  time.Time // the read deadline the socket has
	writeArmed time.Time // the write deadline the socket has

	body     []byte     // a small body, read into bodyRoom (see bodyBuffer)
	bodyRoom [1024]byte // what a consume or checkin body takes, with room to spare

	linger atomic.Bool
	once   sync.Once
}

func (c *conn) Read(p []byte) (int, error) {
	if slack := c.l.header / 30; !covers(c.readArmed, c.readBy, slack) {
		t := late(c.readBy, slack)
		if err := c.TCPConn.SetReadDeadline(t); err != nil {
			return 0, err
		}
		c.readArmed = t
	}
	n, err := c.TCPConn.Read(p)
	if !c.fresh {
		return n, err
	}
	if n > 0 {
		c.fresh = false
		c.readBy = time.Now().Add(c.l.header)
		return n, err
	}
	// Idle out, reset or closed before saying anything: end of stream, so no answer.
	return 0, io.EOF
}

// SetReadDeadline keeps the idle deadline of a connection that has sent nothing yet, and
// otherwise takes t for the next Read.
func (c *conn) SetReadDeadline(t time.Time) error {
	if !c.fresh {
		c.readBy = t
	}
	return nil
}

// The slacks, 1/30 of the shortest timeout each deadline serves: the read deadline's is
// HEADER_TIMEOUT/30 (the idle and body timeouts are longer), computed at the Read; the write
// deadline's, writeTimeout/30, 1 s.
const writeSlack = writeTimeout / 30

// covers reports whether the deadline armed stands for the one wanted: no earlier, and at
// most slack later. No deadline (the zero time) stands only for itself.
func covers(armed, want time.Time, slack time.Duration) bool {
	if armed.IsZero() || want.IsZero() {
		return armed.IsZero() && want.IsZero()
	}
	return !armed.Before(want) && !armed.After(want.Add(slack))
}

// late is the deadline to arm for t: slack after it, which covers t and the times asked
// during the slack that follows.
func late(t time.Time, slack time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(slack)
}

// SetWriteDeadline arms t + writeSlack unless the deadline armed covers t.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if covers(c.writeArmed, t, writeSlack) {
		return nil
	}
	t = late(t, writeSlack)
	if err := c.TCPConn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.writeArmed = t
	return nil
}

// SetDeadline goes through the two above, so that what they remember stays true.
func (c *conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// released is called once the socket is closed for good.
func (c *conn) released() {
	c.l.lim.open.Add(-1)
	c.l.s.metrics.connsOpen.Dec()
}
