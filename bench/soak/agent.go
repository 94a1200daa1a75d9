package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meterd/meterd/bench/internal/meterctl"
)

// agent is the real bin/meterd, started on a free loopback port.
type agent struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	data   string
	log    *os.File // meterd's stderr, kept beside the data directory
	exited chan struct{}
}

// startAgent runs meterd with args on data and waits for its "listening" log line.
func startAgent(meterd, data, logPath string, args ...string) (*agent, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	a := &agent{data: data, log: lf, exited: make(chan struct{})}
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
	go func() { a.scan(stderr, addr); close(scanned) }()
	go func() { <-scanned; a.cmd.Wait(); close(a.exited) }() // Wait after the pipe is drained
	select {
	case ad := <-addr:
		a.base = "http://" + ad
		return a, nil
	case <-a.exited:
		return nil, fmt.Errorf("meterd exited during start-up (%s); log: %s", a.cmd.ProcessState, logPath)
	case <-time.After(60 * time.Second):
		a.cmd.Process.Kill()
		return nil, fmt.Errorf("meterd did not listen within 60s; log: %s", logPath)
	}
}

// scan copies meterd's log to the log file and reports the address it listens on.
func (a *agent) scan(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(a.log, line)
		if i := strings.Index(line, "msg=listening addr="); i >= 0 {
			select {
			case addr <- strings.TrimPrefix(line[i:], "msg=listening addr="):
			default:
			}
		}
	}
}

func (a *agent) pid() int { return a.cmd.Process.Pid }

// stop sends SIGTERM and waits up to timeout for the exit; it returns the exit code, or an
// error when meterd had to be killed.
func (a *agent) stop(timeout time.Duration) (int, error) {
	defer a.log.Close()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		return a.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		a.cmd.Process.Kill()
		<-a.exited
		return -1, fmt.Errorf("meterd did not stop within %s after SIGTERM", timeout)
	}
}

// kill ends meterd when the soak gives up early.
func (a *agent) kill() {
	select {
	case <-a.exited:
	default:
		a.cmd.Process.Kill()
		<-a.exited
	}
}

func (a *agent) token() (string, error) {
	b, err := os.ReadFile(filepath.Join(a.data, "admin.token"))
	return strings.TrimSpace(string(b)), err
}

// errExit is returned by runMeterctl when meterctl exits non-zero; the error says why.
var errExit = errors.New("soak: meterctl failed")

// runMeterctl runs bin/meterctl with args and returns its standard output.
func runMeterctl(bin string, args ...string) ([]byte, error) {
	out, err := meterctl.Run(filepath.Join(bin, "meterctl"), args...)
	if err != nil {
		return out, fmt.Errorf("%w: %v", errExit, err)
	}
	return out, nil
}
