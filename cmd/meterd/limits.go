package main

import (
	"log/slog"
	"syscall"
)

// fdReserve is what the agent needs beside its connections: Pebble's files, the usage
// database, the listener, standard streams.
const fdReserve = 256

// warnIfFewDescriptors says so when the open-file limit cannot hold MAX_CONNS connections:
// past it, accept fails and the listener backs off, so new connections wait rather than being
// refused and counted. (The Go runtime has already raised the soft limit to the hard one.)
func warnIfFewDescriptors(maxConns int, logger *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if need := uint64(maxConns + fdReserve); lim.Cur < need {
		logger.Warn("the open-file limit is below MAX_CONNS plus what the agent needs beside; raise LimitNOFILE or ulimit -n",
			"limit", lim.Cur, "max_conns", maxConns, "want_at_least", need)
	}
}
