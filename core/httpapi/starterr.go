package httpapi

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"syscall"

	"github.com/meterd/meterd/core/config"
)

// startError is a start-up failure put in the operator's terms: what is wrong and what to do.
// It wraps the system's error, so errors.Is still finds syscall.EADDRINUSE and the like.
type startError struct {
	msg   string
	cause error
}

func (e *startError) Error() string { return e.msg }
func (e *startError) Unwrap() error { return e.cause }

// listen binds LISTEN, saying which key to change when it cannot.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, &startError{fmt.Sprintf("LISTEN %s is in use by another process (another meterd?); "+
			"stop that process, or set LISTEN (-listen) to a free port", addr), err}
	}
	cause := err
	var op *net.OpError
	if errors.As(err, &op) {
		cause = op.Err // without the "listen tcp ADDR:" the message already gives
	}
	return nil, &startError{fmt.Sprintf("LISTEN %s: cannot listen there (%v); "+
		"set LISTEN (-listen) to host:port with a host of this machine, such as 127.0.0.1:8787", addr, cause), err}
}

// openError explains the failures of core.Open an operator causes by running meterd twice.
func openError(cfg config.Config, err error) error {
	if errors.Is(err, syscall.EWOULDBLOCK) { // Pebble's flock on DATA_DIR/wal/LOCK, held by another process
		lock := filepath.Join(cfg.DataDir, "wal", "LOCK")
		return &startError{fmt.Sprintf("another meterd is running on DATA_DIR %s (it holds the lock %s); "+
			"stop it first, or give this one its own DATA_DIR (-data-dir)", cfg.DataDir, lock), err}
	}
	return err
}
