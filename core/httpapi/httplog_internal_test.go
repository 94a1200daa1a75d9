package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/internal/throttle"
	"github.com/valyala/fasthttp"
)

// fasthttp's errors are logged by kind, one line a period, the rest counted; accept errors
// keep their text.
func TestFasthttpLogger(t *testing.T) {
	var buf bytes.Buffer
	l := fasthttpLogger{slog.New(slog.NewTextHandler(&buf, nil)), &throttle.Throttle{Every: time.Hour}}
	secret := fmt.Errorf("cannot find whitespace in the first line of request %q", "POST /x\r\nAuthorization: Bearer s3cret")
	l.Printf("error when serving connection %q<->%q: %v", "127.0.0.1:8787", "127.0.0.1:5000", secret)
	l.Printf("error when serving connection %q<->%q: %v", "127.0.0.1:8787", "127.0.0.1:5001", secret)
	if out := buf.String(); strings.Contains(out, "s3cret") || !strings.Contains(out, "malformed request") || strings.Count(out, "\n") != 1 {
		t.Fatalf("got %q, want one line naming the kind of error, without its text", out)
	}

	buf.Reset()
	l.t = &throttle.Throttle{}
	l.Printf("Permanent error when accepting new connections: %v", &os.SyscallError{Syscall: "accept4", Err: syscall.EINVAL})
	if out := buf.String(); !strings.Contains(out, "accept4: invalid argument") {
		t.Fatalf("an accept error lost its text: %q", out)
	}

	f := func(err error, want string) {
		t.Helper()
		if got := errorKind(err); got != want {
			t.Errorf("errorKind(%v) = %q, want %q", err, got, want)
		}
	}
	f(os.ErrDeadlineExceeded, "timeout")
	f(fmt.Errorf("reading: %w", fasthttp.ErrBodyTooLarge), "request body too large")
	f(&fasthttp.ErrSmallBuffer{}, "request headers too large")
	f(fasthttp.ErrBrokenChunk{}, "malformed chunked body")
	f(syscall.ECONNRESET, "connection closed by the client")
	f(errors.New("anything else"), "malformed request")
}
