package harness

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// EtcdCluster is a cluster of etcd members on 127.0.0.1, each a process of the etcd binary with
// its own data directory and ports, for the tests of shared pools: they stop, kill and restart
// members and take the quorum away. It never uses a system service's etcd.
type EtcdCluster struct {
	bin     string
	dir     string
	log     io.Writer
	token   string
	initial string // --initial-cluster
	Members []*EtcdMember
}

// EtcdMember is one member of an EtcdCluster.
type EtcdMember struct {
	Name      string
	ClientURL string
	PeerURL   string
	data      string
	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{}
}

// StartEtcd starts n members of a new cluster under dir with the etcd binary at bin, their logs
// to log, and returns once the cluster has a leader.
func StartEtcd(bin, dir string, n int, log io.Writer) (*EtcdCluster, error) {
	c := &EtcdCluster{bin: bin, dir: dir, log: log, token: fmt.Sprintf("meterd-test-%d", time.Now().UnixNano())}
	var initial []string
	for i := range n {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		m := &EtcdMember{Name: fmt.Sprintf("m%d", i), ClientURL: "http://127.0.0.1:" + ports[0],
			PeerURL: "http://127.0.0.1:" + ports[1], data: filepath.Join(dir, fmt.Sprintf("m%d", i))}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	c.initial = strings.Join(initial, ",")
	for i := range c.Members {
		if err := c.Start(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// freePorts picks n ports of 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]string, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		_, port, _ := net.SplitHostPort(l.Addr().String())
		out = append(out, port)
	}
	return out, nil
}

// Endpoints are the members' client URLs.
func (c *EtcdCluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

// Start starts member i (again) on its data directory.
func (c *EtcdCluster) Start(i int) error {
	m := c.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		select {
		case <-m.exited:
		default:
			return fmt.Errorf("etcd member %s is running", m.Name)
		}
	}
	m.cmd = exec.Command(c.bin, "--name", m.Name, "--data-dir", m.data,
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", c.initial, "--initial-cluster-state", "new", "--initial-cluster-token", c.token,
		// Loopback: elections in a fraction of a second, so that fault rounds stay short.
		"--heartbeat-interval", "50", "--election-timeout", "500")
	m.cmd.Stdout, m.cmd.Stderr = c.log, c.log
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(m.cmd, m.exited)
	return nil
}

// Stop stops member i with SIGTERM (Kill: SIGKILL) and waits for its exit.
func (c *EtcdCluster) Stop(i int) { c.signal(i, os.Interrupt) }
func (c *EtcdCluster) Kill(i int) { c.signal(i, os.Kill) }

func (c *EtcdCluster) signal(i int, sig os.Signal) {
	m := c.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	select {
	case <-m.exited:
		return
	default:
	}
	m.cmd.Process.Signal(sig)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
	}
}

// Running reports whether member i runs.
func (c *EtcdCluster) Running(i int) bool {
	m := c.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// Restart starts members (stopped or killed before) and waits, up to limit, until the
// cluster is healthy again.
func (c *EtcdCluster) Restart(limit time.Duration, members ...int) error {
	for _, i := range members {
		if err := c.Start(i); err != nil {
			return err
		}
	}
	return c.WaitHealthy(limit)
}

// WaitHealthy waits until a running member reports the cluster healthy (it has a leader and
// a quorum answers), up to limit.
func (c *EtcdCluster) WaitHealthy(limit time.Duration) error {
	cl := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		for i, m := range c.Members {
			if !c.Running(i) {
				continue
			}
			resp, err := cl.Get(m.ClientURL + "/health")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`) {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd cluster not healthy within %s", limit)
		}
		time.Sleep(50 * time.Millisecond) // polling an outside process: there is no signal to wait on
	}
}

// Close kills every member; the data directories stay for the test's TempDir to remove.
func (c *EtcdCluster) Close() {
	for i := range c.Members {
		c.Kill(i)
	}
}
