package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// serveProcess runs meterd as a process of its own, the binary built from this repository,
// as Redis runs beside the load in row (e). In-process rows share this process's GOMAXPROCS
// threads between the agent and the load's goroutines; Redis's server has a thread the
// kernel schedules apart from them. A sync answer waits mostly in that shared run queue
// (bench/results/2026-12-06.md, "Where a sync answer waits"), so the sync-against-Redis
// targets are also judged with the agent placed as Redis is.
func serveProcess(d config.Durability) func(*options, string) (*server, error) {
	return func(o *options, run string) (*server, error) {
		bin, err := meterdBinary()
		if err != nil {
			return nil, err
		}
		data, err := os.MkdirTemp("", "meterd-load-process-")
		if err != nil {
			return nil, err
		}
		p, err := harness.StartProcessEnv(bin, data, []string{"DURABILITY=" + d.String()}, io.Discard)
		if err != nil {
			return nil, errors.Join(err, os.RemoveAll(data))
		}
		stop := func(*result) error {
			_, err := p.Stop(syscall.SIGTERM, time.Minute)
			return errors.Join(err, os.RemoveAll(data))
		}
		c, err := p.Client(client.Options{})
		if err != nil {
			return nil, errors.Join(err, stop(nil))
		}
		owner := "organizations/bench-" + run
		items, err := provision(c, owner, run, o.licenses)
		c.CloseIdle()
		if err != nil {
			return nil, errors.Join(err, stop(nil))
		}
		return &server{base: p.Base, mix: newMix(o, owner, run, items), pid: p.Pid(), stop: stop}, nil
	}
}

// meterdBinary builds cmd/meterd once per run of the load tool (go build keeps an unchanged
// binary: see harness.GoBuild) into binDir and returns its path.
var meterdBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "meterd-load-bin-")
	if err != nil {
		return "", err
	}
	binDir.Store(&dir)
	if err := (harness.GoBuild{Args: []string{"github.com/meterd/meterd/cmd/meterd"}}).Into(dir); err != nil {
		return "", fmt.Errorf("build meterd: %w", err)
	}
	return filepath.Join(dir, "meterd"), nil
})

// binDir is where meterdBinary put the binary, if it ran.
var binDir atomic.Pointer[string]

// removeBinary removes what meterdBinary built, once nothing runs it.
func removeBinary() error {
	if dir := binDir.Load(); dir != nil {
		return os.RemoveAll(*dir)
	}
	return nil
}
