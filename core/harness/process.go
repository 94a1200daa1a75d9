package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/meterd/meterd/core/client"
)

// startLimit bounds how long meterd may take to recover and listen.
const startLimit = 60 * time.Second

// Process is one running meterd binary.
type Process struct {
	Base   string // http://127.0.0.1:port
	Data   string // its data directory
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartProcess runs the meterd binary at path with args on the data directory data and a free
// port of 127.0.0.1, copies its log (standard error) to log, and returns once meterd logs the
// address it listens on.
func StartProcess(meterd, data string, log io.Writer, args ...string) (*Process, error) {
	return StartProcessEnv(meterd, data, nil, log, args...)
}

// StartProcessEnv is StartProcess with env ("KEY=value") added to the environment meterd
// inherits: the test build's variables, given to one process rather than set for every test.
func StartProcessEnv(meterd, data string, env []string, log io.Writer, args ...string) (*Process, error) {
	p := &Process{Data: data, exited: make(chan struct{})}
	p.cmd = exec.Command(meterd, append([]string{"-data-dir", data, "-listen", "127.0.0.1:0"}, args...)...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start meterd: %w", err)
	}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() { scan(stderr, log, addr); close(scanned) }()
	// Wait closes the pipe, so it must not run before the log has been read to its end.
	go func() { <-scanned; p.cmd.Wait(); close(p.exited) }()
	select {
	case ad := <-addr:
		p.Base = "http://" + ad
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("meterd exited during start-up (%s)", p.cmd.ProcessState)
	case <-time.After(startLimit):
		p.Kill()
		return nil, fmt.Errorf("meterd did not listen within %v", startLimit)
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
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Token reads the admin token meterd made in its data directory.
func (p *Process) Token() (string, error) {
	b, err := os.ReadFile(filepath.Join(p.Data, "admin.token"))
	return strings.TrimSpace(string(b)), err
}

// Client returns a client of this meterd holding its admin token (unless o has one).
func (p *Process) Client(o client.Options) (*client.Client, error) {
	if o.Token == "" {
		tok, err := p.Token()
		if err != nil {
			return nil, err
		}
		o.Token = tok
	}
	return client.New(p.Base, o)
}

// Stop sends sig (SIGTERM or SIGINT: either stops meterd gracefully) and waits up to timeout
// for the exit; it returns the exit code, or an error when meterd had to be killed.
func (p *Process) Stop(sig os.Signal, timeout time.Duration) (int, error) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		p.Kill()
		return -1, fmt.Errorf("meterd did not stop within %s after %v", timeout, sig)
	}
}

// Exited reports whether meterd has exited (by itself, or after Stop or Kill).
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Kill ends meterd at once, if it still runs, and waits until it has.
func (p *Process) Kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
}
