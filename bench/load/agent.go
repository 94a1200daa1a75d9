package main

import (
	"fmt"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// startAgent runs meterd in this process with the given durability and usage database, on a
// temporary DATA_DIR that stopping removes.
func startAgent(durability config.Durability, usage bool) (*harness.InProcess, error) {
	cfg := config.Default()
	cfg.DataDir, cfg.Durability = "", durability
	if !usage {
		cfg.UsageDatabase = config.UsageOff
	}
	return harness.StartInProcess(cfg, core.Options{})
}

// stopNoting stops the agent and notes in res (when there is one) the engine's statistics
// and how long stopping took: Close exports what the usage database still lacks, so a long
// one means the export could not keep up with the load.
func stopNoting(a *harness.InProcess, res *result) error {
	stats := engineStats(a.Engine())
	start := time.Now()
	err := a.Stop()
	if res != nil {
		res.note = fmt.Sprintf("%s; stop took %v", stats, time.Since(start).Round(time.Millisecond))
	}
	return err
}
