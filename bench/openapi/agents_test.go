package openapi_test

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
	"github.com/meterd/meterd/export"
)

// agent is meterd in this process, on a free port of 127.0.0.1, as cmd/meterd wires it.
type agent struct {
	h    *harness.InProcess
	addr string
}

// startAgent starts an agent on cfg and stops it when the test ends. An agent whose log was
// made to fail, or whose engine was closed under it, stops with an error: brokenStop says
// that is expected.
func startAgent(t *testing.T, cfg config.Config, opts core.Options, brokenStop bool) *agent {
	t.Helper()
	cfg.DataDir = t.TempDir()
	h, err := harness.StartInProcess(cfg, opts)
	if err != nil {
		t.Fatalf("start an agent: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Stop(); err != nil && !brokenStop {
			t.Errorf("stop the agent: %v", err)
		}
	})
	return &agent{h: h, addr: strings.TrimPrefix(h.Base, "http://")}
}

// send runs c against a and checks it and its answer against the document.
func (s *spec) send(t *testing.T, a *agent, c call) *answer {
	t.Helper()
	ans, err := roundTrip(a.addr, c.bytes(a.addr, a.h.Token))
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	s.check(t, a.addr, &c, ans)
	return ans
}

func (s *spec) sendAll(t *testing.T, a *agent, cs ...call) {
	t.Helper()
	for _, c := range cs {
		s.send(t, a, c)
	}
}

// failingWAL is a filesystem whose syncs fail once fail is set: the write-ahead log then
// cannot persist, and the agent answers 503 wal_unavailable.
func failingWAL() (vfs.FS, *atomic.Bool) {
	fail := new(atomic.Bool)
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			if fail.Load() {
				return errorfs.ErrInjected
			}
		}
		return nil
	}))
	return fs, fail
}

// vendorKeys makes the vendor's signing key, returning it and the path of its public half
// for VENDOR_PUBLIC_KEY_FILE.
func vendorKeys(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vendor.sign")
	if _, err := export.GenerateVendorKey(path); err != nil {
		t.Fatal(err)
	}
	key, err := export.LoadVendorPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return key, export.PublicKeyPath(path)
}

// signed is c with the Meterd-Signature key makes over its method, path and body.
func signed(key ed25519.PrivateKey, c call) call {
	h := map[string]string{core.SignatureHeader: export.SignRequest(key, c.method, c.path, []byte(c.body))}
	for k, v := range c.header {
		h[k] = v
	}
	c.header = h
	return c
}
