package core

import (
	"io"
	"net"
	"sync"
	"time"
)

// A connection closed while the client is still sending is reset by the kernel, and a reset
// can destroy the answer the server just wrote before the client reads it. fasthttp closes
// right after answering a body that is too large (413) or a malformed request (400), so the
// client would see "connection reset by peer" instead of the JSON error, depending on timing.
// Closing lingers instead, as net/http and nginx do: half-close, so the client reads the
// answer and then end of stream, and discard what it still sends, for a bounded time and
// amount, before the real close.
const (
	lingerTimeout = time.Second
	lingerMax     = 8 << 20 // bytes discarded at most
)

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && err == nil {
		return &lingerConn{TCPConn: tc}, nil
	}
	return c, err
}

type lingerConn struct {
	*net.TCPConn
	once sync.Once
}

// Close returns at once; the connection is closed for good by a goroutine once the client
// has closed its side, sent lingerMax bytes, or lingerTimeout has passed.
func (c *lingerConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		if err = c.CloseWrite(); err != nil {
			err = c.TCPConn.Close()
			return
		}
		c.SetReadDeadline(time.Now().Add(lingerTimeout))
		go func() {
			io.CopyN(io.Discard, c.TCPConn, lingerMax)
			c.TCPConn.Close()
		}()
	})
	return err
}
