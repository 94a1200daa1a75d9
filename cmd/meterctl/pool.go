package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/meterd/meterd/core/pool"
)

// runPool is the operator's side of a shared pool: meterctl pool evict -endpoints URLS
// AGENT_ID fences a dead agent and releases its blocks; meterctl pool members lists the agents
// whose membership lease is held. Exit 1 when etcd refuses (an agent still alive) or does not
// answer; 2 for usage mistakes and an agent the pool never saw.
func runPool(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "evict" && args[0] != "members") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprint(stdout, poolUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "meterctl pool: want evict or members\n%s", poolUsage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	synopsis := "-endpoints URLS [-prefix P]"
	if sub == "evict" {
		synopsis += " AGENT_ID"
	}
	fs := newFlagSet("pool "+sub, synopsis, stdout, stderr)
	endpoints := fs.String("endpoints", "", "comma-separated etcd client `URLs` of the pool (the agents' POOL_ENDPOINTS)")
	prefix := fs.String("prefix", pool.DefaultPrefix, "where the pool's keys live in etcd")
	timeout := fs.Duration("timeout", 10*time.Second, "give up when etcd has not answered within this long")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	switch {
	case *endpoints == "":
		return fs.badUsage("-endpoints is required")
	case sub == "evict" && fs.NArg() != 1:
		return fs.badUsage("want one agent id (meterctl pool members lists the live ones; a usage database's meta holds its agent_id), got %d arguments", fs.NArg())
	case sub == "members" && fs.NArg() != 0:
		return fs.badUsage("unexpected argument %q", fs.Arg(0))
	}
	st, err := pool.Open(pool.Config{Endpoints: strings.Split(*endpoints, ","), Prefix: *prefix, OpTimeout: *timeout})
	if err != nil {
		return fs.badUsage("%v", err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if sub == "members" {
		ms, err := st.Members(ctx)
		if err != nil {
			return poolFail(fs, err)
		}
		ids := make([]string, 0, len(ms))
		for id := range ms {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			fmt.Fprintf(stdout, "%s epoch %d\n", id, ms[id])
		}
		return exitOK
	}
	id := fs.Arg(0)
	ev, err := st.Evict(ctx, id)
	if err != nil {
		return poolFail(fs, err)
	}
	var total int64
	licenses := make([]string, 0, len(ev.Released))
	for l, n := range ev.Released {
		licenses = append(licenses, l)
		total += n
	}
	slices.Sort(licenses)
	fmt.Fprintf(stdout, "agent %s fenced at epoch %d: %d units released\n", id, ev.Epoch, total)
	for _, l := range licenses {
		fmt.Fprintf(stdout, "  license %s: %d units\n", l, ev.Released[l])
	}
	return exitOK
}

const poolUsage = `usage: meterctl pool evict -endpoints URLS [-prefix P] AGENT_ID
       meterctl pool members -endpoints URLS [-prefix P]

evict fences a dead agent (its membership lease must have lapsed) and releases the units it
held beyond what it last reported consumed; members lists the agents alive in the pool.
`

func poolFail(fs *cli, err error) int {
	fmt.Fprintf(fs.stderr, "meterctl %s: %v\n", fs.Name(), err)
	if errors.Is(err, pool.ErrNotFound) {
		return exitUsage
	}
	return exitFailed
}
