package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/harness"
)

// writeInterval is the USAGE_WRITE_INTERVAL meterd runs with; the export lag limit is twice it.
const writeInterval = 100

// config is the soak's flags.
type config struct {
	bin                              string
	duration, sample, renew, idemTTL time.Duration
	workers                          int
	rate                             float64
	keep                             bool
	appendTo                         string
	command                          string // as typed, for -append
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	stray := &strayLog{out: os.Stderr}
	log.SetOutput(stray) // net/http's client logs unsolicited responses here
	ok, err := run(cfg, stray, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{command: "go -C bench run ./soak " + strings.Join(args, " ")}
	fs.StringVar(&cfg.bin, "bin", "bin", "`dir`ectory holding meterd and meterctl")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Minute, "how long the traffic runs")
	fs.IntVar(&cfg.workers, "workers", 16, "concurrent clients")
	fs.Float64Var(&cfg.rate, "rate", 1000, "steps per second, all workers together (about one request each)")
	fs.DurationVar(&cfg.sample, "sample", 5*time.Second, "how often /metrics and the data directory are read")
	fs.DurationVar(&cfg.renew, "renew", 15*time.Second, "how often a new pair of small licenses is ordered")
	fs.DurationVar(&cfg.idemTTL, "idempotency-ttl", 0, "IDEMPOTENCY_TTL of meterd (0: duration/10, between 5s and 1m)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (data, vendor key, meterd.log, readings.csv)")
	fs.StringVar(&cfg.appendTo, "append", "", "append the run's summary and command to `file` (e.g. RESULTS.md, in bench/)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.idemTTL == 0 {
		cfg.idemTTL = min(max(cfg.duration/10, 5*time.Second), time.Minute)
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.workers < 1 || c.rate <= 0 || c.sample <= 0 || c.renew <= 0:
		return errors.New("-workers, -rate, -sample and -renew must be positive")
	case c.warmup() > c.duration*3/5:
		return fmt.Errorf("a warm-up of %s (the idempotency TTL and its expiry) leaves too little of -duration %s: run longer or lower -idempotency-ttl",
			c.warmup(), c.duration)
	}
	return nil
}

// warmup is when the heap is expected to have levelled off: a fifth of the run, and at least
// until the first idempotency keys have expired, since the table of keys grows until then.
// meterd drops expired keys every TTL/10 (at least every second).
func (c config) warmup() time.Duration {
	return max(c.duration/5, c.idemTTL+max(c.idemTTL/10, time.Second)+2*c.sample)
}

// agentArgs are meterd's flags beside -data-dir and -listen.
func (c config) agentArgs(key string) []string {
	return []string{"-usage-key-file", key, "-usage-write-interval", fmt.Sprint(writeInterval),
		"-idempotency-ttl", c.idemTTL.String()}
}

// run does one soak and prints its verdict; it reports whether every check passed. An error
// means the soak could not run at all.
func run(cfg config, stray *strayLog, stdout io.Writer) (bool, error) {
	dir, err := os.MkdirTemp("", "meterd-soak-")
	if err != nil {
		return false, err
	}
	if cfg.keep {
		defer fmt.Fprintln(stdout, "kept", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	key, data := filepath.Join(dir, "vendor.key"), filepath.Join(dir, "data")
	if _, err := runMeterctl(cfg.bin, "keygen", "-o", key); err != nil {
		return false, err
	}
	logFile, err := os.Create(filepath.Join(dir, "meterd.log"))
	if err != nil {
		return false, err
	}
	defer logFile.Close()
	a, err := harness.StartProcess(filepath.Join(cfg.bin, "meterd"), data, logFile, cfg.agentArgs(key)...)
	if err != nil {
		return false, fmt.Errorf("%w; log: %s", err, logFile.Name())
	}
	defer a.Kill()
	o := &outcome{cfg: cfg, warmup: cfg.warmup()}
	if err := soak(a, cfg, o, stdout); err != nil {
		return false, err
	}
	if err := writeCSV(filepath.Join(dir, "readings.csv"), o.start, o.readings); err != nil {
		return false, err
	}
	o.stray, o.strayFirst = stray.count()
	o.exitCode, o.stopErr = a.Stop(syscall.SIGTERM, time.Minute)
	o.vendor(cfg.bin, key, filepath.Join(data, "usage.db"))
	checks := o.checks()
	o.print(stdout, checks)
	if cfg.appendTo != "" {
		if err := o.appendSummary(cfg.appendTo, checks); err != nil {
			return false, err
		}
	}
	return allOK(checks), nil
}

// soak provisions, measures the idle baseline, runs the traffic while sampling, and waits for
// meterd to be idle again.
func soak(a *harness.Process, cfg config, o *outcome, stdout io.Writer) error {
	// Each call once, without a key it was not given: the soak must see every 5xx and every
	// lost answer, and sends a share of its consumes without a key on purpose.
	c, err := a.Client(client.Options{Attempts: 1, MaxConns: cfg.workers + 2})
	if err != nil {
		return err
	}
	f, err := provision(c, time.Now())
	if err != nil {
		return err
	}
	c.CloseIdle()
	s, err := newSampler(a.Base, a.Data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "soak: meterd %s on %s; idle baseline for %s\n", a.Base, a.Data, idleWindow)
	if o.base, err = baseline(s, a.Pid()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "soak: %d workers, %.0f steps/s for %s (warm-up %s, IDEMPOTENCY_TTL %s)\n",
		cfg.workers, cfg.rate, cfg.duration, o.warmup, cfg.idemTTL)
	led := newLedger()
	o.start = time.Now()
	o.steps, o.renewals = traffic(c, f, s, led, cfg, stdout)
	o.end = time.Now()
	c.CloseIdle()
	var last reading
	if o.idle, last, err = waitIdle(s, a.Pid(), o.base); err != nil {
		return err
	}
	o.readings, o.scrapeErrs, o.scrapeErr = s.all()
	o.readings = append(o.readings, last)
	o.led = led.snapshot()
	return nil
}

// traffic runs the workers, the renewals, the sampler and a progress line for cfg.duration.
func traffic(c *client.Client, f *fleet, s *sampler, led *ledger, cfg config, stdout io.Writer) (steps, renewals int64) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	sampled, renewed := make(chan struct{}), make(chan error, 1)
	go func() { s.run(ctx, cfg.sample); close(sampled) }()
	go func() { renewed <- f.renewEvery(ctx, c, cfg.renew) }()
	go progress(ctx, s, led, cfg.duration, stdout)
	steps = runWorkers(ctx, c, f, led, cfg.workers, cfg.rate)
	<-sampled
	if err := <-renewed; err != nil {
		led.failed("renew", err)
	}
	return steps, f.renewals.Load()
}

// progress prints the latest reading every tenth of the run (at least every 10 s).
func progress(ctx context.Context, s *sampler, led *ledger, d time.Duration, stdout io.Writer) {
	start := time.Now()
	t := time.NewTicker(max(d/10, 10*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rs, _, _ := s.all()
		if len(rs) == 0 {
			continue
		}
		r := rs[len(rs)-1]
		fmt.Fprintf(stdout, "  %6s  answers %d  heap %s  goroutines %.0f  fds %.0f  lag %.0f  idem keys %.0f  state %s  usage.db %s\n",
			time.Since(start).Round(time.Second), led.snapshot().requests(), mib(r.heapInuse), r.goroutines, r.fds, r.lag,
			r.idemKeys, mib(float64(r.stateBytes)), mib(float64(r.usageBytes)))
	}
}

func allOK(cs []check) bool {
	for _, c := range cs {
		if !c.ok {
			return false
		}
	}
	return true
}
