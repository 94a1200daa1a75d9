package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

// The build the binaries are stamped as, as the Makefile stamps them.
const (
	stampVersion = "v0.0.0-test"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567-dirty"
	stamp        = "-X github.com/meterd/meterd/core/version.version=" + stampVersion +
		" -X github.com/meterd/meterd/core/version.commit=" + stampCommit
)

// meterdBin is the agent built once for every test here, with the race detector when the
// tests run with it; meterctl is the vendor's tool, to check what the agent wrote. plainBin
// is the agent without the detector (meterdBin when the tests run without it): the abuse
// suite measures what customers run, and the detector's shadow memory and slowdown would
// drown the figures.
var (
	meterdBin string
	plainBin  string
	meterctl  harness.Meterctl
)

// Every test here but TestAbuse calls t.Parallel: each runs its own meterd processes on its
// own temporary directories and free ports of 127.0.0.1, and shares only the binaries.

// TestMain builds the binaries side by side, each kept from one run to the next while its
// sources stay the same (harness.GoBuild).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	meterdBin, plainBin = filepath.Join(dir, "meterd"), filepath.Join(dir, "meterd")
	meterctl.Path = filepath.Join(dir, "meterctl")
	// The test build (testhooks_on.go): a release build plus a fast clock and a kill at a
	// rotation step, each off unless its variable is set.
	agent := []string{"-tags", "meterd_testhooks", "-ldflags", stamp}
	if raceEnabled {
		agent = append(agent, "-race")
	}
	type build struct {
		b    harness.GoBuild
		into string
	}
	builds := []build{
		{harness.GoBuild{Args: append(agent, ".")}, dir},
		{harness.GoBuild{Args: []string{"-ldflags", stamp, "../meterctl"}}, dir},
	}
	if raceEnabled {
		plainBin = filepath.Join(dir, "plain", "meterd")
		builds = append(builds, build{harness.GoBuild{Args: []string{"."}}, filepath.Dir(plainBin)})
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Go(func() {
			if errs[i] = os.MkdirAll(b.into, 0o700); errs[i] == nil {
				errs[i] = b.b.Into(b.into)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running meterd, its log kept for failure messages, and a client of it with the
// admin token that sends each call once: these tests watch the agent, not the client's
// retries.
type proc struct {
	*harness.Process
	t   *testing.T
	c   *client.Client
	log syncBuffer
}

// syncBuffer is the log: the agent writes it while a test may read it, or wait for a line.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed by the next Write; nil until someone waits
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

// waitUntil reports whether ok holds for the log within timeout, asking again on each write.
func (s *syncBuffer) waitUntil(ok func(log string) bool, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if ok(s.b.String()) {
			s.mu.Unlock()
			return true
		}
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		select {
		case <-written:
		case <-deadline:
			return false
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startMeterd runs the binary on data and waits for its "listening" line.
func startMeterd(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	p, err := tryStart(t, data, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryStart(t *testing.T, data string, args ...string) (*proc, error) {
	return startBin(t, meterdBin, data, args...)
}

func startBin(t *testing.T, bin, data string, args ...string) (*proc, error) {
	return startEnv(t, bin, data, nil, args...)
}

// startEnv starts bin with env added to its environment.
func startEnv(t *testing.T, bin, data string, env []string, args ...string) (*proc, error) {
	p := &proc{t: t}
	a, err := harness.StartProcessEnv(bin, data, env, &p.log, args...)
	if err != nil {
		return nil, fmt.Errorf("%w:\n%s", err, p.log.String())
	}
	p.Process = a
	if p.c, err = a.Client(once); err != nil {
		a.Kill()
		return nil, err
	}
	t.Cleanup(p.c.CloseIdle)
	return p, nil
}

// once sends every call once, with no key it was not given.
var once = client.Options{Attempts: 1}

// kill SIGKILLs meterd, which must still be running: an agent that died by itself would
// otherwise pass for one the test killed.
func (p *proc) kill() {
	p.t.Helper()
	if p.Exited() {
		p.t.Fatalf("meterd exited by itself before the test killed it:\n%s", p.log.String())
	}
	p.Kill()
}

// stop sends sig and expects a clean exit.
func (p *proc) stop(sig os.Signal) {
	p.t.Helper()
	if code, err := p.Stop(sig, 60*time.Second); err != nil || code != 0 {
		p.t.Fatalf("meterd exit code %d, %v:\n%s", code, err, p.log.String())
	}
}

func (p *proc) token() string {
	tok, err := p.Token()
	if err != nil {
		p.t.Fatal(err)
	}
	return tok
}

func (p *proc) consumed(licenseID string) int64 {
	p.t.Helper()
	l, err := p.c.License(p.t.Context(), licenseID)
	if err != nil {
		p.t.Fatalf("get license: %v", err)
	}
	return l.UseCountConsumed
}

// dayOrder is a one-item order of product valid from an hour ago for a day.
func dayOrder(ext, product string, qty int64) client.Order {
	now := time.Now().UTC()
	return client.Order{Type: "Order", ExternalID: ext, Items: []client.OrderItem{{ProductID: product, Quantity: qty,
		LicenseValidFrom: now.Add(-time.Hour), LicenseValidUntil: now.Add(24 * time.Hour)}}}
}

// itemProduct is product p, caller-count units of "Item".
var itemProduct = client.Product{LicensedItem: "Item", TrackingMode: client.TrackCallerCount, CreditAmount: 1}

// provision creates a caller-count product and a license of units for organizations/o.
func (p *proc) provision(units int64) string {
	p.t.Helper()
	if _, err := p.c.PutProduct(p.t.Context(), "p", itemProduct); err != nil {
		p.t.Fatal(err)
	}
	tx, err := p.c.Provision(p.t.Context(), "organizations/o", dayOrder("crash-1", "p", units))
	if err != nil {
		p.t.Fatal(err)
	}
	return tx.Items[0].Licenses[0].ID
}

// agentID reads agent_id from a usage database's meta, as an operator would find it.
func agentID(t *testing.T, db string) string {
	t.Helper()
	out, err := meterctl.Run("dump", db)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(out), " agent=")
	if !ok {
		t.Fatalf("no agent in meterctl dump's output: %.300s", out)
	}
	return rest[:strings.IndexByte(rest, ' ')]
}
