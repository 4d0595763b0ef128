# tenantry — the two commands are `make run` and `make test`.
GO       ?= go
BIN      ?= bin
PKGS     ?= ./...
# Tests share one Postgres server (a fresh database per package); keep
# package parallelism modest on small machines.
TESTFLAGS ?= -p 2 -timeout 15m

.PHONY: run test bench lint build fuzz clean clean-dev

run: ## api + worker + scheduler in one process, embedded NATS, Postgres at DATABASE_URL
	$(GO) run ./cmd/tenantry dev

test: ## the whole suite against real Postgres and embedded NATS
	$(GO) test $(TESTFLAGS) $(PKGS)

bench: ## hot paths next to their raw baselines; writes docs/BENCHMARKS.md
	$(GO) run ./cmd/bench -out docs/BENCHMARKS.md

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" && exit 1)
	$(GO) mod tidy -diff
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 $(PKGS)

build: ## the four binaries into ./bin
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/api ./cmd/worker ./cmd/scheduler ./cmd/tenantry

fuzz: ## run each fuzz target for FUZZTIME (default 20s); found inputs land in the Go build cache
	@set -e; for t in handlers:FuzzSubaccountBodies handlers:FuzzQueryAndPath handlers:FuzzOAuthCallback \
		syncer:FuzzSyncBodies secret:FuzzOpen connectors:FuzzDefinition connectors:FuzzCheckRequestStaysOnHost connectors/egress:FuzzParseAllow; do \
		$(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $${FUZZTIME:-20s}; done

clean: ## build outputs only; `make clean-dev` also drops the dev state
	rm -rf $(BIN)

clean-dev: ## the dev state in ./.tenantry (NATS data, master key, dev partner); drop the database too
	rm -rf .tenantry
