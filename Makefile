# The two commands a newcomer runs: `make run` and `make test`.
# Every step installs what it needs, idempotently, and caches it outside the
# checkout (STAFETTE_CACHE, default ~/.cache/stafette) so a second run is quick.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export STAFETTE_CACHE ?= $(HOME)/.cache/stafette
NODE_BIN := $(shell tools/ensure-node.sh)
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
STAMPS := .make

.PHONY: help deps node-deps system-deps go-tools typecheck unit integration test run cluster clean

help:
	@echo "make run      set everything up and start the local mail system (see README)"
	@echo "make test     set everything up and run every test"
	@echo "make cluster  start a real kube-apiserver + etcd with the CRDs installed"

$(STAMPS):
	@mkdir -p $@

# npm ci only when the lock file changed since the last install.
$(STAMPS)/node_modules: package-lock.json package.json | $(STAMPS)
	npm ci --no-audit --no-fund
	@touch $@

node-deps: $(STAMPS)/node_modules

system-deps:
	@tools/install-debian-packages.sh

go-tools:
	@tools/build-go-tools.sh

deps: node-deps system-deps go-tools

typecheck: node-deps
	tsc --noEmit

unit: node-deps
	npm test --silent

integration: deps
	npm run --silent test:integration

test: deps typecheck unit integration

run: deps
	@tools/run-local.sh

cluster: deps
	node test/harness/cluster-main.ts

clean:
	rm -rf $(STAMPS) node_modules .stafette
