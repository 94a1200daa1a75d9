package main

import (
	"fmt"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
	"github.com/meterd/meterd/wal"
)

// agent is meterd running in this process, with its WAL's fdatasyncs timed.
type agent struct {
	*harness.InProcess
	fs timedFS
}

// startAgent runs meterd in this process with the given durability and usage database, on a
// temporary DATA_DIR that stopping removes.
func startAgent(durability config.Durability, usage bool) (*agent, error) {
	cfg := config.Default()
	cfg.DataDir, cfg.Durability = "", durability
	if !usage {
		cfg.UsageDatabase = config.UsageOff
	}
	d := wal.Sync
	if durability == config.DurabilityAsync {
		d = wal.Async
	}
	fs := newTimedFS(true, d)
	a, err := harness.StartInProcess(cfg, core.Options{FS: fs})
	if err != nil {
		return nil, err
	}
	return &agent{InProcess: a, fs: fs}, nil
}

// stopNoting stops the agent and notes in res (when there is one) the engine's statistics,
// its WAL's fdatasyncs and how long stopping took: Close exports what the usage database
// still lacks, so a long one means the export could not keep up with the load.
func stopNoting(a *agent, res *result) error {
	stats := engineStats(a.Engine())
	start := time.Now()
	err := a.Stop()
	if res != nil {
		res.note = fmt.Sprintf("%s; %s; stop took %v", stats, a.fs.syncs.summary(), time.Since(start).Round(time.Millisecond))
	}
	return err
}
