package httpapi

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
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
