# LeadPilot backend. `make` lists the targets; every target documents itself
# with a `## description` comment on its rule line.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help
# Targets run one at a time even under -j: `verify` rewrites api/ while
# `vet` would compile it. Go parallelises the work inside each target.
.NOTPARALLEL:

GO ?= go
BIN := bin/leadpilot
# Recipes that need Postgres and Redis depend on `services` and start with it.
WITH_SERVICES := . ./.data/services.env &&

PKG ?= ./...
TESTFLAGS ?=
BENCHFLAGS ?= -run '^$$' -bench . -benchmem -count 5 -timeout 60m
ARGS ?= up
REDOC_VERSION := 2.5.4
DOCS_ASSETS := internal/docs/assets
# Spec lint: Redocly CLI pinned in .ci/lint/package-lock.json, installed on
# demand with `npm ci` (node_modules/ is git-ignored). No telemetry or
# update checks: lint runs offline once installed.
LINT_DIR := .ci/lint
LINT_STAMP := $(LINT_DIR)/node_modules/.installed
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(LINT_DIR)/node_modules/.bin/redocly
# The TypeScript SDK (@leadpilot/sdk): openapi-typescript, openapi-fetch and
# the test tooling pinned in api/typescript/package-lock.json, installed on
# demand with `npm ci` (again only when package.json or the lock changes).
TS_DIR := api/typescript
TS_STAMP := $(TS_DIR)/node_modules/.installed

.PHONY: bench-inbox bench-sending postfix-compat dovecot-compat bench-generation bench-api bench-leads bench-webhooks bench-import-events bench-go help services stop generate lint-spec verify fmt-check vet lint test test-ts bench build run \
	migrate seed docs-assets docker clean clean-data

help: ## Show this help
	@echo "Usage: make <target> [VAR=value]"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: TESTFLAGS (extra go test flags), PKG (default ./...), BENCHFLAGS, ARGS (migrate, default up)"

services: ## Ensure Postgres and Redis are up (private ones under .data/ if needed); writes .data/services.env
	@.ci/services

stop: ## Stop the private Postgres and Redis that `services` started under .data/ (never the machine's)
	@.ci/services stop

$(TS_STAMP): $(TS_DIR)/package.json $(TS_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "the TypeScript SDK needs node and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@echo "installing the TypeScript SDK's tooling (npm ci --prefix $(TS_DIR))"
	@npm ci --prefix $(TS_DIR) --no-audit --no-fund --loglevel=error
	@touch $@

generate: $(TS_STAMP) ## Regenerate api/ from openapi.yaml: Go client and server (oapi-codegen), TypeScript types (openapi-typescript)
	$(GO) generate ./api/...
	@npm run --prefix $(TS_DIR) --silent generate

$(LINT_STAMP): $(LINT_DIR)/package.json $(LINT_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "lint-spec needs node and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@echo "installing the spec linter (npm ci --prefix $(LINT_DIR))"
	@npm ci --prefix $(LINT_DIR) --no-audit --no-fund --loglevel=error
	@touch $@

lint-spec: $(LINT_STAMP) ## Lint openapi.yaml with Redocly CLI's recommended rules (.ci/lint/redocly.yaml)
	$(REDOCLY) lint --config $(LINT_DIR)/redocly.yaml --format=stylish openapi.yaml

verify: generate lint-spec ## Regenerate (Go and TypeScript) and fail if api/ differs from git; lint the spec
	@if ! git diff --quiet --exit-code -- api/ || [ -n "$$(git status --porcelain --untracked-files=all -- api/)" ]; then \
		git status --short --untracked-files=all -- api/; \
		echo "generated code is stale: run make generate and commit" >&2; \
		exit 1; \
	fi

fmt-check: ## Fail listing tracked .go files that gofmt would change
	@out="$$(git ls-files -z -- '*.go' | xargs -0 -r gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:" >&2; echo "$$out" >&2; exit 1; fi

vet: ## go vet ./...
	$(GO) vet ./...

lint: fmt-check vet ## fmt-check + vet

test: services verify fmt-check vet ## Verify, lint, run all Go tests with -race against real Postgres and Redis, then test-ts
	$(WITH_SERVICES) $(GO) test -race -count=1 -timeout 15m $(TESTFLAGS) $(PKG)
	@$(MAKE) --no-print-directory test-ts

# Each test file starts its own server (`leadpilot all`) on a database it
# creates and drops, and owns a Redis database: sdk.e2e 14, webhook.e2e 15.
test-ts: services build $(TS_STAMP) ## Test the TypeScript SDK (tsc type checks, node --test) against a live server it starts
	$(WITH_SERVICES) LEADPILOT_BIN="$(CURDIR)/$(BIN)" npm test --prefix $(TS_DIR)

bench-api: services ## Load-test GET /v1/org (wrk) against pgbench running its SQL; prints medians, p99 and the ratio
	.ci/bench-api

bench-leads: services ## Load-test lead import (1M-row CSV), list and search against psql/pgbench baselines; prints the figures and ratios
	.ci/bench-leads

bench-webhooks: services ## Webhook deliveries/s to a local receiver against plain POSTs (same receiver and concurrency); prints medians and the ratio
	.ci/bench-webhooks

bench-import-events: services ## A 1M-row lead import by the binary before events, by this one, and with a lead.created subscriber; medians and ratios
	.ci/bench-import-events

bench-generation: services ## Sequence generation: 10,000 leads with the built-in provider against the bare calls, and a 500 ms fake at concurrency 1/8/32 against the ideal; medians and ratios
	.ci/bench-generation

postfix-compat: ## As root on Debian: install Postfix + Cyrus SASL (apt), run a private instance, test emailsend against it (not part of test)
	.ci/postfix-compat

dovecot-compat: ## As root on Debian: install Dovecot (apt), run a private instance, test imapsync against it (not part of test)
	.ci/dovecot-compat

walkthrough: ## Run the README's sending walk-through against a running `make run` (API=http://localhost:8080)
	.ci/walkthrough-sending

bench-sending: services ## Sending engine: 100,000 emails across 100 accounts into Postfix's smtp-sink against smtp-source into it; medians, ratio, CPU per message, RSS; once more with every cap kept
	.ci/bench-sending

bench-inbox: services ## Unified inbox: initial sync of a 10,000-message IMAP mailbox against the bare IMAP fetch, classification of 10,000 replies (built-in) against the direct calls; medians and ratios
	.ci/bench-inbox

bench-go: services ## Run the Go benchmarks (BENCHFLAGS overrides; default -count 5, compare with benchstat; BenchmarkSend at 10,000 leads here, 100,000 in bench-sending)
	$(WITH_SERVICES) SEND_BENCH_LEADS=$${SEND_BENCH_LEADS:-10000} $(GO) test $(BENCHFLAGS) $(PKG)

bench: bench-go bench-api bench-leads bench-webhooks bench-import-events bench-generation bench-sending bench-inbox ## Run all benchmarks: the Go ones, bench-api, bench-leads, bench-webhooks, bench-import-events, bench-generation, bench-sending and bench-inbox

build: ## Build bin/leadpilot (static, trimmed)
	@echo "building $(BIN) (the first build downloads Go modules and compiles everything: about 2 minutes; later builds take seconds)"
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/leadpilot

# PRIVATE_NOTE says, when services.env names the private instances, that
# they outlive `make run` and how to stop them.
PRIVATE_NOTE := if grep -qE ':(55432|56379)/' .data/services.env 2>/dev/null; then \
	echo "The private Postgres/Redis under .data/ keep running after Ctrl-C: 'make stop' stops them ('make clean-data' also deletes their data)."; fi

run: services build ## Migrate, seed and run API + workers (bin/leadpilot all; HTTP_ADDR defaults to :8080)
	@$(WITH_SERVICES) $(BIN) migrate up && $(BIN) seed && \
	echo && echo "LeadPilot: API docs at http://localhost:8080/docs (contract: /openapi.yaml). Create your organisation with:" && \
	echo "  curl -X POST http://localhost:8080/v1/auth/signup -H 'Content-Type: application/json' -d '{\"email\":\"you@example.com\",\"password\":\"at least 10 chars\",\"full_name\":\"You\",\"org_name\":\"Your Co\"}'" && \
	echo "  (README.md walks through login, API keys and the rest; Ctrl-C stops)" && \
	$(PRIVATE_NOTE) && echo && \
	{ rc=0; $(BIN) all || rc=$$?; echo; $(PRIVATE_NOTE); exit $$rc; }

migrate: services build ## Run migrations: make migrate ARGS="up|down|status|..." (default up)
	$(WITH_SERVICES) $(BIN) migrate $(ARGS)

seed: services build ## Load system templates and demo data
	$(WITH_SERVICES) $(BIN) seed

docs-assets: ## Refresh internal/docs/assets from the npm redoc package (version in REDOC_VERSION)
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	tgz="$$(cd "$$tmp" && npm pack --silent redoc@$(REDOC_VERSION) | tail -n 1)"; \
	tar -xzf "$$tmp/$$tgz" -C "$$tmp" package/LICENSE package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt; \
	mkdir -p $(DOCS_ASSETS); \
	install -m 0644 "$$tmp/package/bundles/redoc.standalone.js" $(DOCS_ASSETS)/redoc.standalone.js; \
	install -m 0644 "$$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" $(DOCS_ASSETS)/redoc.standalone.js.LICENSE.txt; \
	install -m 0644 "$$tmp/package/LICENSE" $(DOCS_ASSETS)/LICENSE; \
	echo "updated $(DOCS_ASSETS) from $$tgz"

docker: ## Build the leadpilot image (needs a Docker engine; none runs on the dev machines here)
	docker build -t leadpilot .

clean: stop ## Remove bin/ and stop private services (keeps .data/)
	rm -rf bin/

clean-data: clean ## clean, then delete .data/ (private databases included)
	rm -rf .data/
