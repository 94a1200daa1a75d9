package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	agent  *httpapi.Agent
	eng    *core.Engine // kept after Stop, for the statistics of a closed engine
	ownDir bool
}

// StartInProcess starts meterd as cmd/meterd does (httpapi.Start: recovery, the admin token
// of cfg.AdminTokenPath, made if missing), on a free port of 127.0.0.1 whatever cfg.Listen
// says. With cfg.DataDir empty it runs on a new temporary directory that Stop removes.
func StartInProcess(cfg config.Config, opts core.Options) (*InProcess, error) {
	a := &InProcess{}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "meterd-harness-")
		if err != nil {
			return nil, err
		}
		cfg.DataDir, a.ownDir = dir, true
	}
	a.Dir, cfg.Listen = cfg.DataDir, "127.0.0.1:0"
	agent, err := httpapi.Start(cfg, opts)
	if err != nil {
		return nil, errors.Join(err, a.Stop())
	}
	a.agent, a.eng, a.Base, a.Token = agent, agent.Engine, agent.Base(), agent.Token
	return a, nil
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
	if a.agent != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopLimit)
		err = a.agent.Shutdown(ctx)
		cancel()
		a.agent = nil
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
