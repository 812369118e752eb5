# walker: the targets a contributor needs. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Tools built by hack/tools live outside the clone, keyed by version.
TOOLS_BIN := $(shell hack/tools --bin-dir)
export PATH := $(TOOLS_BIN):$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BINARY  ?= bin/walker
IMAGE   ?= walker:$(VERSION)
IMAGE_TAR ?= dist/walker.tar
RUN_DIR ?= .tmp/run

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

# The Dockerfile runs exactly this target; hack/packaging_test.go runs the
# Dockerfile's command too, so the image build is exercised without Docker.
# nomsgpack leaves out gin's MessagePack codec, which walker never uses:
# 10 MB less binary, 1 MB less resident memory.
.PHONY: build
build: ## build the static walker binary into bin/ (as the Dockerfile does)
	CGO_ENABLED=0 go build -trimpath -tags nomsgpack -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BINARY) ./app/cmd/walker

.PHONY: run
run: build ## run the app on an embedded SQLite database with demo data
	@mkdir -p $(RUN_DIR)
	@export WALKER_SQLITE_PATH=$${WALKER_SQLITE_PATH:-$(RUN_DIR)/walker.db}; \
	  $(BINARY) migrate >/dev/null && $(BINARY) demo >/dev/null; \
	  addr=$${WALKER_ADDR:-:8000}; host=$${addr%:*}; metrics=$${WALKER_METRICS_ADDR:-127.0.0.1:9000}; \
	  echo "walker: open http://$${host:-localhost}:$${addr##*:}/walks/start/ (metrics: http://$$metrics/metrics; Ctrl-C stops)"; \
	  exec $(BINARY) serve

.PHONY: up
up: tools ## the pod's topology on loopback: PostgreSQL, app, nginx, Prometheus (Ctrl-C stops)
	go run ./hack/up

.PHONY: tools
tools: ## install the pinned tools (helm, helm-docs, prometheus, promtool, kube, nginx, chromium...)
	hack/tools

.PHONY: test
test: tools ## everything CI runs (installs the pinned tools first): lint, unit, integration, chart, rules, e2e
	$(MAKE) lint
	go run ./hack/gotest ./...
	$(MAKE) e2e

.PHONY: test-short
test-short: ## unit tests only (no external tools)
	go test -short -count=1 ./...

.PHONY: lint
lint: ## gofmt, go mod tidy, go vet, shellcheck
	@go mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy (go mod tidy -diff shows what changes)"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	shellcheck -x $$(git ls-files 'hack/*' '.ci/*' | xargs grep -lE '^#!/usr/bin/env (ba)?sh' )

.PHONY: chart-lint
chart-lint: tools ## helm lint --strict and helm template over the values matrix
	go run ./hack/gotest -run 'Lint|Template' ./charts/...

.PHONY: e2e
e2e: tools ## end-to-end on a real Kubernetes node: kubelet, containerd, the chart's pods (needs root)
	go run ./hack/kube-e2e

.PHONY: bench
bench: tools ## walk lifecycle load test behind nginx on PostgreSQL (SCALE=1: and on a real-sized database)
	go run ./hack/up --bench $(if $(SCALE),--scale)

.PHONY: image
image: ## build the container image (needs a Docker engine)
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

.PHONY: image-tar
image-tar: build ## the same image without Docker: an OCI archive in dist/ (docker load, kind load image-archive)
	go run ./hack/image --binary $(BINARY) --image $(IMAGE) --out $(IMAGE_TAR) --version $(VERSION) --commit $(COMMIT)

.PHONY: clean
clean: ## remove build output and local state
	rm -rf bin dist .tmp
