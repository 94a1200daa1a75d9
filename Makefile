# meterd — `make` lists the targets.
#
# Two Go modules: the agent's at the root, and bench/ (demo, soak, load generator, the
# observability checks), which may use libraries the agent does not. Targets that run bench/
# do so with `go -C bench`; `go test ./...` at the root does not reach it.
GO      ?= go
BIN     := bin
PKGS    := ./...
FUZZTIME ?= 100000x

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Builds run with -buildvcs=false, so the toolchain records no commit: stamp it (with -dirty
# when tracked files differ from HEAD), and the tag when HEAD is past one, into core/version.
# `meterd -version`, `meterctl version` and meterd_build_info show them.
COMMIT  ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null || c=$$c-dirty; echo $$c; })
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)
LDFLAGS := -X github.com/meterd/meterd/core/version.commit=$(COMMIT) -X github.com/meterd/meterd/core/version.version=$(VERSION)

.PHONY: build
build: ## build bin/meterd and bin/meterctl, stamped with the commit
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/meterd ./cmd/meterctl

.PHONY: run
run: build ## run the agent on defaults (127.0.0.1:8787, ./meterd-data)
	$(BIN)/meterd

# The allocation tests (Test…Allocs…) run again without the race detector, which allocates
# on its own and whose sync.Pool drops items at random. Only these packages have one (bench/'s
# from bench/); test stops at once when that list and the test files disagree, so that a new
# one cannot go unrun and a stale entry cannot stay.
ALLOCS_PKGS := ./core ./core/httpapi ./export ./shard ./wal
BENCH_ALLOCS_PKGS := ./load
ALLOCS_TEST := ^func (Test|Example|Fuzz)[A-Za-z0-9_]*Allocs

# GORACE atexit_sleep_ms=0: by default the race detector sleeps a second in every process that
# exits 0, to give goroutines that outlive main time to race before its final report (a
# race-built `meterd -version`: 1.02 s, and 0.05 s with it off). Every passing test binary and
# every meterd that a process test stops cleanly paid that second. A race while the tests run is reported and fails its
# test as before, and the final report still runs; Go's own race tests use the same setting.
RACE_ENV := GORACE="atexit_sleep_ms=0 $(GORACE)"

# A command the shell starts in the background ignores SIGINT, so Ctrl-C would stop test's
# root pass and leave the other half running: env --default-signal (GNU coreutils 8.31 and
# later) gives it back where it exists.
DEFAULT_SIGINT = $(shell env --default-signal=INT true 2>/dev/null && echo env --default-signal=INT)

.PHONY: test
test: ## go vet, every test with the race detector, and the allocation tests without it (both modules)
	@found=$$(grep -rlE --include='*_test.go' '$(ALLOCS_TEST)' . | sed 's|/[^/]*$$||' | sort -u | tr '\n' ' '); \
	listed=$$(printf '%s\n' $(ALLOCS_PKGS) $(patsubst ./%,./bench/%,$(BENCH_ALLOCS_PKGS)) | sort -u | tr '\n' ' '); \
	[ "$$found" = "$$listed" ] || { echo "make test: allocation tests are in: $$found; ALLOCS_PKGS and BENCH_ALLOCS_PKGS (Makefile) list: $$listed" >&2; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) -C bench vet $(PKGS)
	@beside=$$(mktemp); trap 'rm -f "$$beside"; exit 130' INT TERM; \
	$(DEFAULT_SIGINT) nice -n 10 $(MAKE) --no-print-directory test-beside > "$$beside" 2>&1 & pid=$$!; \
	$(MAKE) --no-print-directory test-root; root=$$?; \
	wait $$pid; others=$$?; cat "$$beside"; rm -f "$$beside"; \
	[ $$root = 0 ] && [ $$others = 0 ]

# The two halves of test's tests, run side by side: the root module's race pass is the long
# one, and much of it waits (on meterd processes, timeouts, the applier's tick, fsyncs),
# which leaves CPU to bench/'s race pass and the allocation tests. Those run at nice 10, so
# that they take what the root pass leaves rather than delay it (TestAbuse bounds latencies),
# and their output is held and printed after the root pass's. Of all these tests only
# TestAbuse bounds timings: a p99 under 100 ms and connections closed within their timeout
# plus 1.5 s.
.PHONY: test-root test-beside
test-root:
	$(RACE_ENV) $(GO) test -race -timeout 20m $(PKGS)
test-beside:
	$(RACE_ENV) $(GO) -C bench test -race -timeout 20m $(PKGS)
	$(GO) test -count=1 -run Allocs $(ALLOCS_PKGS)
	$(GO) -C bench test -count=1 -run Allocs $(BENCH_ALLOCS_PKGS)

.PHONY: demo
demo: build ## the whole job end to end in a temporary directory
	$(GO) build -tags meterd_testhooks -o $(BIN)/meterd-testhooks ./cmd/meterd
	$(GO) -C bench run ./demo -bin $(abspath $(BIN))

.PHONY: bench
bench: build ## side-by-side benchmarks against baselines; appends to bench/RESULTS.md
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./shard ./core
	$(GO) -C bench run ./load -scenario compare -rounds 3 -append RESULTS.md

.PHONY: fuzz
fuzz: ## run every fuzz target of both modules for FUZZTIME executions each (default 100000x)
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash .ci/fuzz

# Mutation testing (github.com/go-gremlins/gremlins, installed into bin/, not a module
# dependency): every package it covers must keep the efficacy the README states. In the core
# package it mutates only the engine's decision and recovery files; the others, and core's
# subpackages (gremlins descends into them; a path with a slash is in one), are excluded.
# A mutant's timeout is a multiple of how long gremlins' first `go test -cover` took; a cached
# result makes that a fraction of a second and nearly every mutant then times out instead of
# being judged, hence -count=1. Export's and core's suites link SQLite and Pebble and wait on
# fsyncs, so their multiples leave room for a loaded machine.
GREMLINS_VERSION := v0.6.0
GREMLINS := $(abspath $(BIN))/gremlins
MUTATE := GOFLAGS=-count=1 $(GREMLINS) unleash --workers 1
CORE_NOT_ENGINE := '^(background|doc|engine|errors|license|licensing|product_api|provision|stateenc|vendorsig)\.go$$'
.PHONY: mutate
mutate: ## mutation testing: shard, wal, export (efficacy >= 90 %), the engine's decision and recovery files (>= 80 %); about two hours
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION)
	$(MUTATE) --timeout-coefficient 5 --threshold-efficacy 90 ./shard
	$(MUTATE) --timeout-coefficient 5 --threshold-efficacy 90 ./wal
	$(MUTATE) --timeout-coefficient 10 --threshold-efficacy 90 ./export
	$(MUTATE) --timeout-coefficient 8 --threshold-efficacy 80 -E $(CORE_NOT_ENGINE) -E '/' ./core

# `make install` (DESTDIR-aware, for packaging): the binaries to PREFIX/bin, the systemd unit,
# its ExecStart pointed at PREFIX/bin/meterd, to PREFIX/lib/systemd/system (systemd's search
# path holds /usr/local/lib/systemd/system and /usr/lib/systemd/system), and the sample config,
# the dashboard and the alert rules with their tests to PREFIX/share/meterd. Nothing goes to
# /etc: copy share/meterd/meterd.cfg.example to /etc/meterd/meterd.cfg, which the unit reads.
PREFIX ?= /usr/local
DESTDIR ?=
DEPLOY := cmd/meterd/deploy
UNITDIR = $(PREFIX)/lib/systemd/system
SHAREDIR = $(PREFIX)/share/meterd
.PHONY: install
install: build ## install binaries, systemd unit, sample config, dashboard, alerts (PREFIX=/usr/local, DESTDIR)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SHAREDIR)
	install -m 0755 $(BIN)/meterd $(BIN)/meterctl $(DESTDIR)$(PREFIX)/bin/
	sed 's|^ExecStart=/usr/local/bin/meterd |ExecStart=$(PREFIX)/bin/meterd |' $(DEPLOY)/meterd.service > $(DESTDIR)$(UNITDIR)/meterd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/meterd.service
	install -m 0644 $(DEPLOY)/meterd.cfg.example $(DEPLOY)/grafana-dashboard.json $(DEPLOY)/alerts.yml \
		$(DEPLOY)/alerts_test.yml $(DESTDIR)$(SHAREDIR)/

SOAK ?= 10m
SOAK_FLAGS ?= # e.g. -append RESULTS.md (a path from bench/)
.PHONY: soak
soak: build ## mixed traffic for SOAK (default 10m) against bin/meterd, sampling /metrics
	$(GO) -C bench run ./soak -bin $(abspath $(BIN)) -duration $(SOAK) $(SOAK_FLAGS)

.PHONY: clean
clean: ## remove build output and the default data directory
	rm -rf $(BIN) meterd-data
