# meterd — `make` lists the targets.
GO      ?= go
BIN     := bin
PKGS    := ./...
FUZZTIME ?= 30s

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
test: ## go vet, then every test with the race detector
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $(PKGS)

.PHONY: demo
demo: build ## the whole job end to end in a temporary directory
	$(GO) run ./bench/demo -bin $(BIN)

.PHONY: clean
clean: ## remove build output and the default data directory
	rm -rf $(BIN) meterd-data
