package harness

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// NeedTool returns the path of name, an outside program a test drives (sqlite3, promtool,
// chromium, systemd-analyze). Where it is missing the test is skipped, saying which Debian
// package has it; under METERD_REQUIRE_TOOLS=1, which CI sets after installing them all, it
// fails instead, so that no check CI relies on passes there by skipping.
func NeedTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("METERD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not installed (apt-get install %s), and METERD_REQUIRE_TOOLS=1", name, debianPackage)
		}
		t.Skipf("%s not installed (apt-get install %s); CI requires it", name, debianPackage)
	}
	return p
}

// Exited is what a program that ran to its end wrote, and its exit code.
type Exited struct {
	Stdout, Stderr string
	Code           int
}

// RunToExit runs bin with args to its end, with stdin (nil: none) on its standard input. A
// non-zero exit is a result, not an error; the error says the program could not be run.
func RunToExit(stdin []byte, bin string, args ...string) (Exited, error) {
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		err = nil
	}
	if err != nil {
		return Exited{}, err
	}
	return Exited{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}, nil
}

// LogBuffer is a log that an agent writes while a test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
