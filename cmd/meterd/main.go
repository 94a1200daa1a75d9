// Command meterd is the usage-metering agent: it answers consume requests from the licensed
// application next to it, keeps every answer in its write-ahead log and writes the signed
// usage database the vendor bills from.
//
// Start-up runs in order: configuration, the log line naming the build, the HTTP listener
// (so that an address in use stops start-up before anything is written), recovery of the
// engine, the admin token, serving. SIGINT or SIGTERM stops in reverse: the HTTP front first
// (no new requests, those in flight finish), then the engine (usage database flushed,
// checkpoint, log synced). Each phase logs how long it took. SIGHUP is logged and ignored:
// the configuration is read once, and the log goes to standard error, which has nothing to
// reopen.
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
	"github.com/meterd/meterd/core/version"
)

// shutdownTimeout bounds how long requests in flight may take once a signal arrives.
const shutdownTimeout = 30 * time.Second

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // start-up or serving failed
	exitUsage  = 2 // a bad flag, config file or value
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(args)
	var ue *usageError
	switch {
	case errors.Is(err, errHelp):
		printUsage(stdout)
		return exitOK
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, "meterd", version.Get())
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "meterd: %s\n%s\n", ue.msg, hint)
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "meterd:", err)
		return exitUsage
	}
	logger := newLogger(cfg, stderr)
	v := version.Get()
	logger.Info("meterd starting", "version", v.Version, "commit", v.Commit, "goversion", v.GoVersion)
	return serve(cfg, logger)
}

// newLogger writes LOG_FORMAT's lines at LOG_LEVEL and above to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(cfg config.Config, logger *slog.Logger) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	opts := core.Options{Logger: logger}
	if err := testHooks(&opts, logger); err != nil {
		logger.Error("cannot start", "err", err)
		return exitFailed
	}
	a, err := httpapi.Start(cfg, opts)
	if err != nil {
		logger.Error("cannot start", "err", plain(err))
		return exitFailed
	}
	warnIfExposed(a.Addr, logger)
	warnIfFewDescriptors(cfg.MaxConns, logger)
	logger.Info("answering to", "allowed_hosts", strings.Join(cfg.AllowedHostList(), ","), "max_conns", cfg.MaxConns,
		"header_timeout", cfg.HeaderTimeout, "body_timeout", cfg.BodyTimeout, "idle_timeout", cfg.IdleTimeout)
	logger.Info("listening", "addr", a.Addr.String())

	for stopping := false; !stopping; {
		select {
		case <-hup:
			logger.Info("SIGHUP ignored: the configuration is read only at start-up; restart meterd to change it")
		case <-ctx.Done():
			logger.Info("signal received; shutting down")
			stopping = true
		case <-a.Stopped():
			logger.Error("http server failed", "err", a.ServeErr())
			stopping = true
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil { // Serve's error included
		logger.Error("meterd stopped", "err", plain(err))
		return exitFailed
	}
	return exitOK
}

// plain drops the package names (export:, wal:) that the libraries put before their errors:
// an operator reads what went wrong, not where in the code.
func plain(err error) string {
	return strings.NewReplacer("export: ", "", "wal: ", "").Replace(err.Error())
}

func warnIfExposed(addr net.Addr, logger *slog.Logger) {
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("listening beyond loopback: /v1/consume takes no token; restrict access to the application's host", "addr", addr.String())
	}
}
