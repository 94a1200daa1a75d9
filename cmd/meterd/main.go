// Command meterd is the usage-metering agent: it answers consume requests from the licensed
// application next to it, keeps every answer in its write-ahead log and writes the signed
// usage database the vendor bills from.
//
// Start-up runs in order: configuration, recovery of the engine, the admin token, the HTTP
// listener. SIGINT or SIGTERM stops in reverse: the HTTP front first (no new requests, those
// in flight finish), then the engine (usage database flushed, checkpoint, log synced). Each
// phase logs how long it took.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

// shutdownTimeout bounds how long requests in flight may take once a signal arrives.
const shutdownTimeout = 30 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	cfg, err := loadConfig(args, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "meterd:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(cfg, logger); err != nil {
		logger.Error("meterd stopped", "err", err)
		return 1
	}
	return 0
}

func serve(cfg config.Config, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := httpapi.Start(cfg, core.Options{Logger: logger})
	if err != nil {
		return err
	}
	warnIfExposed(a.Addr, logger)
	warnIfFewDescriptors(cfg.MaxConns, logger)
	logger.Info("answering to", "allowed_hosts", strings.Join(cfg.AllowedHostList(), ","), "max_conns", cfg.MaxConns,
		"header_timeout", cfg.HeaderTimeout, "body_timeout", cfg.BodyTimeout, "idle_timeout", cfg.IdleTimeout)
	logger.Info("listening", "addr", a.Addr.String())

	select {
	case <-ctx.Done():
		logger.Info("signal received; shutting down")
	case <-a.Stopped():
		logger.Error("http server failed", "err", a.ServeErr())
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return a.Shutdown(sctx) // Serve's error included
}

func warnIfExposed(addr net.Addr, logger *slog.Logger) {
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("listening beyond loopback: /v1/consume takes no token; restrict access to the application's host", "addr", addr.String())
	}
}
