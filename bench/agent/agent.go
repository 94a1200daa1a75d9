// Package agent runs the real meterd binary as a customer would, for the bench programs
// (demo, soak) and cmd/meterd's process tests: on a free loopback port, its log copied where
// the caller says, stopped with SIGTERM or SIGKILL; and talks to it over HTTP as a licensed
// application does.
package agent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Agent is one running meterd.
type Agent struct {
	Base   string // http://127.0.0.1:port
	Data   string // its data directory
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs meterd with args on the data directory data, copies its log (standard error) to
// log, and returns once meterd logs the address it listens on.
func Start(meterd, data string, log io.Writer, args ...string) (*Agent, error) {
	a := &Agent{Data: data, exited: make(chan struct{})}
	a.cmd = exec.Command(meterd, append([]string{"-data-dir", data, "-listen", "127.0.0.1:0"}, args...)...)
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start meterd: %w", err)
	}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() { scan(stderr, log, addr); close(scanned) }()
	// Wait closes the pipe, so it must not run before the log has been read to its end.
	go func() { <-scanned; a.cmd.Wait(); close(a.exited) }()
	select {
	case ad := <-addr:
		a.Base = "http://" + ad
		return a, nil
	case <-a.exited:
		return nil, fmt.Errorf("meterd exited during start-up (%s)", a.cmd.ProcessState)
	case <-time.After(60 * time.Second):
		a.Kill()
		return nil, fmt.Errorf("meterd did not listen within 60s")
	}
}

// scan copies meterd's log to log and reports the address of its "listening" line.
func scan(r io.Reader, log io.Writer, addr chan<- string) {
	const listening = "msg=listening addr="
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(log, line)
		if i := strings.Index(line, listening); i >= 0 {
			select {
			case addr <- line[i+len(listening):]:
			default:
			}
		}
	}
}

// Pid is meterd's process id.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// Token reads the admin token meterd generated in its data directory.
func (a *Agent) Token() (string, error) {
	b, err := os.ReadFile(filepath.Join(a.Data, "admin.token"))
	return strings.TrimSpace(string(b)), err
}

// Stop sends sig (SIGTERM or SIGINT: either stops meterd gracefully) and waits up to timeout
// for the exit; it returns the exit code, or an error when meterd had to be killed.
func (a *Agent) Stop(sig os.Signal, timeout time.Duration) (int, error) {
	a.cmd.Process.Signal(sig)
	select {
	case <-a.exited:
		return a.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		a.Kill()
		return -1, fmt.Errorf("meterd did not stop within %s after %v", timeout, sig)
	}
}

// Exited reports whether meterd has exited (by itself, or after Stop or Kill).
func (a *Agent) Exited() bool {
	select {
	case <-a.exited:
		return true
	default:
		return false
	}
}

// Kill ends meterd at once, if it still runs, and waits until it has.
func (a *Agent) Kill() {
	select {
	case <-a.exited:
	default:
		a.cmd.Process.Kill()
		<-a.exited
	}
}
