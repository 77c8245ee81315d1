# The two commands a newcomer runs: `make run` and `make test`.
# Every step installs what it needs, idempotently, and caches it outside the
# checkout (STAFETTE_CACHE, default ~/.cache/stafette) so a second run is quick.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export STAFETTE_CACHE ?= $(HOME)/.cache/stafette
# Where Node 24 is or will be; the `node` step installs it (reading the Makefile installs nothing).
NODE_BIN := $(shell tools/ensure-node.sh --dir)
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
STAMPS := .make

.PHONY: help deps node node-deps system-deps run-system-deps go-tools nats-server kube-binaries run-deps typecheck lint unit fuzz integration test run cluster clean \
	node-tools image kube-node e2e

help:
	@echo "make run      set everything up and start the local mail system (see README)"
	@echo "make test     set everything up and run every test"
	@echo "make cluster  start a real kube-apiserver + etcd with the CRDs installed"
	@echo "make image    build the container image (Containerfile) without a registry"
	@echo "make kube-node  start a real one-node cluster (kubelet, containerd, CoreDNS) here"
	@echo "make e2e     the chart on a real node under load: scale-down, pod loss, upgrade, NATS leader loss, eviction"

$(STAMPS):
	@mkdir -p $@

node:
	@tools/ensure-node.sh >/dev/null

# npm ci only when the lock file changed since the last install (after Node 24 is in place,
# so install steps run with it).
$(STAMPS)/node_modules: package-lock.json package.json | $(STAMPS) node
	npm ci --no-audit --no-fund
	@touch $@

node-deps: $(STAMPS)/node_modules

system-deps:
	@tools/install-debian-packages.sh all

run-system-deps:
	@tools/install-debian-packages.sh run

go-tools:
	@tools/build-go-tools.sh

nats-server:
	@bash tools/go-build/nats-server.sh

kube-binaries:
	@bash tools/go-build/kube.sh

# Everything the tests need.
deps: node-deps system-deps go-tools

# Only what the local mail system runs: Node and the npm packages, nats-server, openssl.
# Not kube-apiserver, etcd, kubectl or helm (minutes of Go builds it never uses). The three
# steps are independent, so they run side by side (the Go build and npm ci overlap).
run-deps:
	@$(MAKE) --no-print-directory -j3 node-deps run-system-deps nats-server

typecheck: node-deps
	tsc --noEmit

# ESLint (eslint.config.js) and Prettier (.prettierrc); a finding fails the build.
lint: node-deps
	npm run --silent lint

unit: node-deps
	npm test --silent

# The property-based fuzz targets (fuzz/, docs/fuzzing.md) with a fixed seed and bounded runs;
# FUZZ_RUNS=<n> FUZZ_SEED=random npm run fuzz for a long run.
fuzz: node-deps
	npm run --silent fuzz

integration: deps
	npm run --silent test:integration

# The e2e suite is the recipe, not a prerequisite: it starts the real node, of which one runs
# per machine, so even under `make -j` it starts only after the integration tests (test/node
# starts the node too) have finished.
test: deps node-tools image typecheck lint unit fuzz integration
	npm run --silent e2e

run: run-deps
	@tools/run-local.sh

cluster: node-deps run-system-deps kube-binaries
	node test/harness/cluster-main.ts

clean:
	rm -rf $(STAMPS) node_modules .stafette

# The real node (test/harness/node/): containerd, runc and CNI from Debian, the kubelet and
# the other node components from the Go module proxy, kube-router (its NetworkPolicy
# controller, when a test asks for one) likewise, and its small images, all cached.
node-tools:
	@tools/node/install-packages.sh
	@tools/node/build-kube-node.sh
	@tools/node/build-kube-router.sh
	@tools/node/build-images.sh

# The image the chart runs, tagged ghcr.io/stafette/stafette:<appVersion> and stafette:dev.
image:
	@tools/node/install-packages.sh
	@echo "image: ghcr.io/stafette/stafette:$$(awk '$$1 == "appVersion:" { gsub(/"/, "", $$2); print $$2 }' charts/stafette/Chart.yaml) and stafette:dev, saved as $$(tools/image/build.sh --print)"

kube-node: deps node-tools image
	node test/harness/node-main.ts

# The e2e suite (test/e2e/): the chart with a 3-node NATS cluster on the real node, then
# scale-down, a force-deleted pod, a helm upgrade, the NATS queue leader's loss and an
# eviction under a bounded load; one summary line per scenario. `make test` runs it last,
# after the integration tests; E2E_MESSAGES/E2E_SECONDS/E2E_CLIENTS bound the load.
e2e: deps node-tools image
	npm run --silent e2e
