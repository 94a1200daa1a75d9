package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
)

// Agent is meterd assembled: the engine recovered from the data directory, the admin token,
// and the HTTP server answering on a listener. cmd/meterd, the harness and the tests all start
// it through Start, so the agent is wired in one place.
type Agent struct {
	Engine *core.Engine
	Server *Server
	Token  string
	Addr   net.Addr

	logger   *slog.Logger
	done     chan struct{} // closed when Serve returns
	serveErr error         // what Serve returned, once done is closed
	once     sync.Once
	err      error
}

// Start binds cfg.Listen, then recovers the engine on cfg (opts.Logger, when set, hears how
// long that took, and whether the usage key was made), loads or makes the admin token at
// cfg.AdminTokenPath and serves. The listener comes first so that an address in use or not of
// this machine stops start-up before anything is written to the data directory. Start returns
// once the server accepts: a Shutdown before fasthttp's Serve has registered its listener
// would return at once and leave Serve running.
func Start(cfg config.Config, opts core.Options) (*Agent, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := listen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	a, err := start(cfg, opts, logger, ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return a, nil
}

func start(cfg config.Config, opts core.Options, logger *slog.Logger, ln net.Listener) (*Agent, error) {
	keyPath := cfg.UsageKeyPath()
	keyMissing := cfg.UsageDatabasePath() != "" && !exists(keyPath)
	t := time.Now()
	eng, err := core.Open(cfg, opts)
	if err != nil {
		return nil, openError(cfg, err)
	}
	logger.Info("engine recovered", "data_dir", cfg.DataDir, "usage_database", cfg.UsageDatabasePath(),
		"durability", cfg.Durability, "took", time.Since(t))
	if keyMissing && exists(keyPath) {
		logger.Warn("created usage key; send it to the vendor, who verifies the usage database with it", "path", keyPath)
	}
	a := &Agent{Engine: eng, logger: logger, done: make(chan struct{})}
	if a.Token, err = LoadOrCreateToken(cfg.AdminTokenPath(), opts.Logger); err != nil {
		return nil, errors.Join(err, eng.Close())
	}
	a.Addr, a.Server = ln.Addr(), NewServer(eng, a.Token, opts.Logger)
	accepting := &firstAccept{Listener: ln, ready: make(chan struct{})}
	go func() {
		a.serveErr = a.Server.Serve(accepting)
		close(a.done)
	}()
	select {
	case <-accepting.ready:
		return a, nil
	case <-a.done:
		return nil, errors.Join(fmt.Errorf("serve: %w", a.serveErr), eng.Close())
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Base is the agent's URL, http://host:port.
func (a *Agent) Base() string { return "http://" + a.Addr.String() }

// Stopped is closed when the server stops serving, by Shutdown or because it failed; then
// ServeErr says why.
func (a *Agent) Stopped() <-chan struct{} { return a.done }

// ServeErr is what the server's Serve returned; call it once Stopped is closed.
func (a *Agent) ServeErr() error { return a.serveErr }

// Shutdown stops the agent as meterd stops on SIGTERM: HTTP first (no new connections; the
// requests in flight finish, within ctx), then the engine (the usage database flushed, the log
// synced). Later calls return the first one's result.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.once.Do(func() {
		t := time.Now()
		herr := a.Server.Shutdown(ctx)
		if herr == nil {
			select {
			case <-a.done:
				herr = a.serveErr
			case <-ctx.Done():
				herr = fmt.Errorf("serve did not return: %w", ctx.Err())
			}
		}
		a.logger.Info("http stopped", "took", time.Since(t))
		t = time.Now()
		eerr := a.Engine.Close()
		a.logger.Info("engine closed: usage database flushed, log synced", "took", time.Since(t))
		a.err = errors.Join(herr, eerr)
	})
	return a.err
}

// firstAccept closes ready when Accept is first called.
type firstAccept struct {
	net.Listener
	once  sync.Once
	ready chan struct{}
}

func (f *firstAccept) Accept() (net.Conn, error) {
	f.once.Do(func() { close(f.ready) })
	return f.Listener.Accept()
}
