package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

// agent is meterd in this process: an Engine on a temporary DATA_DIR, served on a loopback
// listener, as cmd/meterd wires it.
type agent struct {
	eng    *core.Engine
	srv    *httpapi.Server
	dir    string
	base   string
	token  string
	served chan error
}

// startAgent opens an engine with cfg's durability and usage database on a fresh directory
// and serves it on 127.0.0.1.
func startAgent(durability config.Durability, usage bool) (*agent, error) {
	dir, err := os.MkdirTemp("", "meterd-load-")
	if err != nil {
		return nil, err
	}
	a := &agent{dir: dir, served: make(chan error, 1)}
	if err := a.start(durability, usage); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

func (a *agent) start(durability config.Durability, usage bool) error {
	cfg := config.Default()
	cfg.DataDir, cfg.Durability, cfg.Listen = a.dir, durability, "127.0.0.1:0"
	if !usage {
		cfg.UsageDatabase = config.UsageOff
	}
	eng, err := core.Open(cfg, core.Options{})
	if err != nil {
		return err
	}
	a.eng = eng
	if a.token, err = httpapi.LoadOrCreateToken(cfg.AdminTokenPath(), nil); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.srv, a.base = httpapi.NewServer(eng, a.token, nil), "http://"+ln.Addr().String()
	go func() { a.served <- a.srv.Serve(ln) }()
	return nil
}

// stopNoting stops the agent and notes in res (when there is one) the engine's statistics
// and how long Close took: Close exports what the usage database still lacks, so a long one
// means the export could not keep up with the load.
func (a *agent) stopNoting(res *result) error {
	stats := engineStats(a.eng)
	start := time.Now()
	err := a.stop()
	if res != nil {
		res.note = fmt.Sprintf("%s; stop took %v", stats, time.Since(start).Round(time.Millisecond))
	}
	return err
}

// stop shuts the agent down as meterd does, HTTP first, then the engine, and removes its
// directory.
func (a *agent) stop() error {
	var err error
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = a.srv.Shutdown(ctx)
		cancel()
		err = errors.Join(err, <-a.served)
	}
	if a.eng != nil {
		err = errors.Join(err, a.eng.Close())
	}
	err = errors.Join(err, os.RemoveAll(a.dir))
	if err != nil {
		return fmt.Errorf("stop agent: %w", err)
	}
	return nil
}
