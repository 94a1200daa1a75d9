# meterd — `make` lists the targets.
GO      ?= go
BIN     := bin
PKGS    := ./...
FUZZTIME ?= 100000x

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/meterd and bin/meterctl
	$(GO) build -o $(BIN)/ ./cmd/meterd ./cmd/meterctl

.PHONY: run
run: build ## run the agent on defaults (127.0.0.1:8787, ./meterd-data)
	$(BIN)/meterd

.PHONY: test
test: ## go vet, every test with the race detector, then the allocation tests without it
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)
	$(GO) test -count=1 -run Allocs $(PKGS)

.PHONY: demo
demo: build ## the whole job end to end in a temporary directory
	$(GO) run ./bench/demo -bin $(BIN)

.PHONY: bench
bench: build ## side-by-side benchmarks against baselines; appends to bench/RESULTS.md
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./shard ./core
	$(GO) run ./bench/load -scenario compare -append bench/RESULTS.md

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME executions each (default 100000x)
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash .ci/fuzz

SOAK ?= 10m
SOAK_FLAGS ?=
.PHONY: soak
soak: build ## mixed traffic for SOAK (default 10m) against bin/meterd, sampling /metrics
	$(GO) run ./bench/soak -bin $(BIN) -duration $(SOAK) $(SOAK_FLAGS)

.PHONY: clean
clean: ## remove build output and the default data directory
	rm -rf $(BIN) meterd-data
