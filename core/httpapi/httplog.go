package httpapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/meterd/meterd/core/internal/throttle"
	"github.com/valyala/fasthttp"
)

// fasthttpLogger routes fasthttp's own messages to slog, at most one every few seconds: a
// client sending garbage must not be able to fill the disk with log lines.
//
// Its errors are logged by kind, never by text, except for accept errors, which come from the
// operating system. fasthttp puts raw request bytes in some of its parse errors whatever
// SecureErrorLogMessage says ("cannot find whitespace in the first line of request %q"
// quotes the whole buffer), and those bytes may hold the admin token.
type fasthttpLogger struct {
	l *slog.Logger
	t *throttle.Throttle
}

func (f fasthttpLogger) Printf(format string, args ...any) {
	ok, dropped := f.t.Allow(time.Now())
	if !ok {
		return
	}
	if !strings.Contains(format, "accepting new connections") {
		safe := make([]any, len(args))
		for i, a := range args {
			if err, isErr := a.(error); isErr {
				a = errorKind(err)
			}
			safe[i] = a
		}
		args = safe
	}
	f.l.Warn(fmt.Sprintf(format, args...), "component", "fasthttp", "suppressed", dropped)
}

// errorKind names what went wrong serving a connection, in words of ours.
func errorKind(err error) string {
	var small *fasthttp.ErrSmallBuffer
	var broken fasthttp.ErrBrokenChunk
	switch {
	case isTimeout(err):
		return "timeout"
	case errors.As(err, &small):
		return "request headers too large"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "request body too large"
	case errors.As(err, &broken):
		return "malformed chunked body"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection closed by the client"
	}
	return "malformed request"
}
