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

	t := time.Now()
	eng, err := core.Open(cfg, core.Options{Logger: logger})
	if err != nil {
		return err
	}
	logger.Info("engine recovered", "data_dir", cfg.DataDir, "usage_database", cfg.UsageDatabasePath(),
		"durability", cfg.Durability, "took", time.Since(t))
	token, err := httpapi.LoadOrCreateToken(cfg.AdminTokenPath(), logger)
	if err != nil {
		return errors.Join(err, eng.Close())
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return errors.Join(err, eng.Close())
	}
	warnIfExposed(ln.Addr(), logger)
	warnIfFewDescriptors(cfg.MaxConns, logger)
	srv := httpapi.NewServer(eng, token, logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("answering to", "allowed_hosts", strings.Join(cfg.AllowedHostList(), ","), "max_conns", cfg.MaxConns,
		"header_timeout", cfg.HeaderTimeout, "body_timeout", cfg.BodyTimeout, "idle_timeout", cfg.IdleTimeout)
	logger.Info("listening", "addr", ln.Addr().String())

	select {
	case <-ctx.Done():
		logger.Info("signal received; shutting down")
	case err = <-served:
		logger.Error("http server failed", "err", err)
	}
	return errors.Join(err, shutdown(srv, eng, logger))
}

// shutdown stops the HTTP front first so that no request starts after the engine closes.
func shutdown(srv *httpapi.Server, eng *core.Engine, logger *slog.Logger) error {
	t := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	herr := srv.Shutdown(ctx)
	logger.Info("http stopped", "took", time.Since(t))
	t = time.Now()
	eerr := eng.Close()
	logger.Info("engine closed: usage database flushed, log synced", "took", time.Since(t))
	return errors.Join(herr, eerr)
}

// warnIfExposed says so when the application API, which takes no token, is reachable from
// other machines.
func warnIfExposed(addr net.Addr, logger *slog.Logger) {
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("listening beyond loopback: /v1/consume takes no token; restrict access to the application's host", "addr", addr.String())
	}
}
