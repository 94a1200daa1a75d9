package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

// stopLimit bounds how long Stop waits for requests in flight.
const stopLimit = 10 * time.Second

// InProcess is meterd in this process: an Engine served over HTTP on 127.0.0.1.
type InProcess struct {
	Base   string // http://127.0.0.1:port
	Token  string // the admin token, as meterd keeps it in its data directory
	Dir    string // the data directory
	eng    *core.Engine
	srv    *httpapi.Server
	served chan error
	ownDir bool
}

// StartInProcess opens an engine on cfg, as meterd does (recovery, then the admin token of
// cfg.AdminTokenPath, made if missing), and serves it on a free port of 127.0.0.1 whatever
// cfg.Listen says. With cfg.DataDir empty it runs on a new temporary directory that Stop
// removes.
func StartInProcess(cfg config.Config, opts core.Options) (*InProcess, error) {
	a := &InProcess{served: make(chan error, 1)}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "meterd-harness-")
		if err != nil {
			return nil, err
		}
		cfg.DataDir, a.ownDir = dir, true
	}
	a.Dir, cfg.Listen = cfg.DataDir, "127.0.0.1:0"
	if err := a.start(cfg, opts); err != nil {
		return nil, errors.Join(err, a.Stop())
	}
	return a, nil
}

func (a *InProcess) start(cfg config.Config, opts core.Options) error {
	eng, err := core.Open(cfg, opts)
	if err != nil {
		return err
	}
	a.eng = eng
	if a.Token, err = httpapi.LoadOrCreateToken(cfg.AdminTokenPath(), opts.Logger); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.srv, a.Base = httpapi.NewServer(eng, a.Token, opts.Logger), "http://"+ln.Addr().String()
	accepting := &firstAccept{Listener: ln, ready: make(chan struct{})}
	go func() { a.served <- a.srv.Serve(accepting) }()
	// Serve registers the listener before it first accepts; a Shutdown before that would
	// return at once and leave Serve running. So the agent is started once it accepts.
	select {
	case <-accepting.ready:
		return nil
	case err := <-a.served:
		a.srv = nil
		return fmt.Errorf("serve: %w", err)
	}
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

// Engine is the agent's engine, for measurements without HTTP.
func (a *InProcess) Engine() *core.Engine { return a.eng }

// Client returns a client of this agent holding its admin token (unless o has one).
func (a *InProcess) Client(o client.Options) (*client.Client, error) {
	if o.Token == "" {
		o.Token = a.Token
	}
	return client.New(a.Base, o)
}

// Stop shuts the agent down as meterd does, HTTP first (requests in flight finish), then the
// engine (usage database flushed, log synced), and removes a directory it made.
func (a *InProcess) Stop() error {
	var err error
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopLimit)
		err = a.srv.Shutdown(ctx)
		cancel()
		err = errors.Join(err, <-a.served)
		a.srv = nil
	}
	if a.eng != nil {
		err = errors.Join(err, a.eng.Close())
		a.eng = nil
	}
	if a.ownDir {
		err = errors.Join(err, os.RemoveAll(a.Dir))
		a.ownDir = false
	}
	if err != nil {
		return fmt.Errorf("harness: stop agent: %w", err)
	}
	return nil
}
