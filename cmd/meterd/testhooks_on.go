//go:build meterd_testhooks

package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/export"
)

// testHooks lets the process tests and the rotation demo, which build meterd with
// -tags meterd_testhooks, reach what a release build never offers: a clock that runs fast from
// a chosen instant, to cross midnights in seconds, and a SIGKILL at a named step of a usage
// database rotation, to crash it there. A release build compiles testhooks_off.go instead,
// and reads neither variable.
//
//	METERD_TEST_CLOCK=2026-12-01T23:59:00Z*720   start there, run 720 times as fast
//	METERD_TEST_KILL_AT=sealed                    SIGKILL at this export.RotateStep
func testHooks(opts *core.Options, logger *slog.Logger) error {
	if v := os.Getenv("METERD_TEST_CLOCK"); v != "" {
		clock, err := fastClock(v)
		if err != nil {
			return fmt.Errorf("METERD_TEST_CLOCK: %w", err)
		}
		opts.Clock = clock
		logger.Warn("test build: the clock is METERD_TEST_CLOCK's", "clock", v)
	}
	if step := export.RotateStep(os.Getenv("METERD_TEST_KILL_AT")); step != "" {
		export.SetRotateHook(func(s export.RotateStep) {
			if s == step {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way; nothing more may happen here
			}
		})
	}
	return nil
}

func fastClock(v string) (func() time.Time, error) {
	at, rate, ok := strings.Cut(v, "*")
	start, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return nil, err
	}
	speed := 1.0
	if ok {
		if speed, err = strconv.ParseFloat(rate, 64); err != nil || speed <= 0 {
			return nil, fmt.Errorf("rate %q", rate)
		}
	}
	t0 := time.Now()
	return func() time.Time {
		return start.Add(time.Duration(float64(time.Since(t0)) * speed))
	}, nil
}
