package httpapi

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// fakeListener returns its errors, one per Accept, then conn, then net.ErrClosed.
type fakeListener struct {
	errs []error
	conn net.Conn
}

func (l *fakeListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	if c := l.conn; c != nil {
		l.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}
func (l *fakeListener) Close() error   { return nil }
func (l *fakeListener) Addr() net.Addr { return memAddr }

// Running out of descriptors is waited out, not taken for the end of the listener (which
// would stop the server); other errors end it.
func TestAcceptWaitsOutLackOfDescriptors(t *testing.T) {
	c, _ := net.Pipe()
	defer c.Close()
	emfile := &os.SyscallError{Syscall: "accept4", Err: syscall.EMFILE}
	fl := &fakeListener{errs: []error{emfile, emfile, &os.SyscallError{Syscall: "accept4", Err: syscall.ENFILE}}, conn: c}
	s := &Server{logger: slog.New(slog.DiscardHandler)}
	l := &connListener{Listener: fl, lim: &s.conns, s: s}
	got, err := l.Accept()
	if err != nil || got != c {
		t.Fatalf("got %v, %v; want the connection after the errors", got, err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("got %v, want net.ErrClosed passed on", err)
	}
}

// loopbackPair returns the two ends of a TCP connection over 127.0.0.1.
func loopbackPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// slackStep is a deadline asked for and the one a conn with the given slack should then have
// armed, after the steps before it.
type slackStep struct{ ask, armed time.Time }

// slackSteps are the cases of a deadline armed up to slack late, in order: a first deadline,
// later ones inside the slack (kept) and past it (re-armed), an earlier one, none.
func slackSteps(slack time.Duration) []slackStep {
	d := time.Now().Add(time.Hour)
	return []slackStep{
		{d, d.Add(slack)},
		{d.Add(slack / 2), d.Add(slack)}, // inside the slack: kept
		{d.Add(slack), d.Add(slack)},
		{d.Add(2 * slack), d.Add(3 * slack)}, // later: re-armed
		{d, d.Add(slack)},                    // earlier: re-armed
		{time.Time{}, time.Time{}},           // none
	}
}

// A write deadline is armed at most writeSlack late, and a past one fails the next Write.
func TestConnWriteDeadlineSlack(t *testing.T) {
	_, s := loopbackPair(t)
	c := &conn{TCPConn: s}
	for i, st := range slackSteps(writeSlack) {
		if err := c.SetWriteDeadline(st.ask); err != nil {
			t.Fatal(err)
		}
		if !c.writeArmed.Equal(st.armed) {
			t.Fatalf("step %d: asked %v, armed %v, want %v", i, st.ask, c.writeArmed, st.armed)
		}
	}
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("write without a deadline: %v", err)
	}
	if err := c.SetWriteDeadline(time.Now().Add(-2 * writeSlack)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("write past its deadline: %v, want a timeout", err)
	}
}

// The read deadline asked for last is the one a Read runs under, however many came before.
// (An hour in the past: the read slack with this HEADER_TIMEOUT is two minutes.)
func TestConnReadDeadlineIsArmedAtRead(t *testing.T) {
	cl, s := loopbackPair(t)
	c := &conn{TCPConn: s, l: &connListener{header: time.Hour}}
	c.SetReadDeadline(time.Now().Add(-time.Hour))
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("read past its deadline: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Now().Add(-time.Hour))
	c.SetReadDeadline(time.Now().Add(time.Hour))
	cl.Write([]byte("x"))
	if n, err := c.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("read within its deadline: %d, %v", n, err)
	}
}

// A Read arms the deadline asked for plus the read slack (HEADER_TIMEOUT/30), and keeps one
// armed while the deadline asked falls within the slack before it.
func TestConnReadDeadlineSlack(t *testing.T) {
	cl, s := loopbackPair(t)
	c := &conn{TCPConn: s, l: &connListener{header: 30 * time.Second}}
	buf := make([]byte, 1)
	for i, st := range slackSteps(time.Second) {
		c.SetReadDeadline(st.ask)
		if _, err := cl.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !c.readArmed.Equal(st.armed) {
			t.Fatalf("step %d: asked %v, armed %v, want %v", i, st.ask, c.readArmed, st.armed)
		}
	}
}
