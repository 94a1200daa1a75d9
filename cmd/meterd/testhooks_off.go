//go:build !meterd_testhooks

package main

import (
	"log/slog"

	"github.com/meterd/meterd/core"
)

// testHooks does nothing in a release build: see testhooks_on.go for the test build's.
func testHooks(*core.Options, *slog.Logger) error { return nil }
