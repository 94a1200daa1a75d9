package httpapi

import (
	"io"
	"net"
	"time"
)

// A connection closed while the client is still sending is reset by the kernel, and a reset
// can destroy the answer the server just wrote before the client reads it. The server closes
// right after answering a request it could not read: a body that is too large (413) or a
// malformed request (400), so the client would see "connection reset by peer" instead of the
// JSON error, depending on timing. Such a connection closes lingering instead, as net/http and
// nginx do: half-close, so the client reads the answer and then end of stream, and discard
// what it still sends, for a bounded time and amount, before the real close. Other closes
// (idle, shutdown) are immediate: lingering there would only hold the read side open and
// keep the goroutine blocked in it until the timeout.
const (
	lingerTimeout = time.Second
	lingerMax     = 8 << 20 // bytes discarded at most
)

// lingerOnClose makes the connection of a request that could not be read close lingering.
func lingerOnClose(c net.Conn) {
	if lc, ok := c.(*conn); ok {
		lc.linger.Store(true)
	}
}

// Close returns at once; a lingering connection is closed for good by a goroutine once the
// client has closed its side, sent lingerMax bytes, or lingerTimeout has passed.
func (c *conn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		if !c.linger.Load() {
			err = c.TCPConn.Close()
			c.released()
			return
		}
		if err = c.CloseWrite(); err != nil {
			err = c.TCPConn.Close()
			c.released()
			return
		}
		c.TCPConn.SetReadDeadline(time.Now().Add(lingerTimeout))
		go func() {
			io.CopyN(io.Discard, c.TCPConn, lingerMax)
			c.TCPConn.Close()
			c.released()
		}()
	})
	return err
}
