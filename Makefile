# wgops.fleet developer entry points. Everything runs from a fresh clone: the venv, the testbed
# (podman, images) and the Go-built binaries are installed by these targets themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/wgops/fleet

# Scenarios run by `make test`, in order (later issues append theirs).
SCENARIOS ?= $(shell cat molecule/SCENARIOS 2>/dev/null)

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export CONTAINERS_CONF := $(CURDIR)/tests/testbed/containers.conf
export PATH := $(BIN):$(PATH)
# Facts only as ansible_facts.*: the default flips in a coming ansible-core, and every run here proves the
# collection does not read injected ansible_* fact variables (tests/testbed/run-scenario.sh sets it too).
export ANSIBLE_INJECT_FACT_VARS := False

.PHONY: help venv collection graphviz lint sanity unit quick format binaries integration testbed molecule molecule-all test bench lab lab-destroy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.stamp ## create the virtualenv with the pinned tools

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

collection: venv $(COLLECTION_LINK) ## make this checkout importable as wgops.fleet

lint: collection ## yamllint, ruff, ansible-lint (production) and ansible-test sanity
	$(BIN)/yamllint --strict .
	$(BIN)/ruff check plugins tests bench
	$(BIN)/ruff format --check plugins tests bench
	$(MAKE) --no-print-directory mypy
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory galaxy-check

# Run from the collections path so that ansible_collections.wgops.fleet... imports resolve (mypy.ini).
.PHONY: mypy
mypy: collection ## mypy on plugins/ (ansible-core has no types: tests/typing/stubs tells it fail_json does not return)
	cd $(COLLECTIONS) && $(BIN)/mypy --config-file $(CURDIR)/mypy.ini ansible_collections/wgops/fleet/plugins

sanity: collection ## ansible-test sanity, from a copy under ansible_collections/wgops/fleet
	tests/sanity/run.sh

.PHONY: galaxy-check
galaxy-check: venv ## galaxy-importer, antsibull-docs and ansible-builder on the built tarball (tools in .build/galaxy-venv)
	tests/galaxy/run.sh

unit: collection graphviz ## pytest on the planner, filters and modules
	$(BIN)/pytest -q tests/unit

# The fast part of `make lint` plus `make unit`: what to run before every push, a minute or two (nearly all
# of it the unit tests). The slow checks (ansible-lint, antsibull-changelog, sanity, galaxy-check) stay in
# `make lint`.
quick: collection ## before pushing (a minute or two): yamllint, ruff check, ruff format --check, mypy, then make unit
	$(BIN)/yamllint --strict .
	$(BIN)/ruff check plugins tests bench
	$(BIN)/ruff format --check plugins tests bench
	$(MAKE) --no-print-directory mypy
	$(MAKE) --no-print-directory unit

# Fixes first (import order, pyupgrade, ...), then the formatter; what ruff cannot fix is listed, and
# `make quick` fails on it.
format: venv ## ruff check --fix, then ruff format, on plugins tests bench
	$(BIN)/ruff check --fix --exit-zero plugins tests bench
	$(BIN)/ruff format plugins tests bench

# plan.yml draws SVG and PNG topology pictures with Graphviz's dot (the unit tests draw real ones).
graphviz: ## install Graphviz on this machine (Debian package) unless dot is there
	@command -v dot >/dev/null || { echo "installing graphviz (dot draws the topology pictures)"; \
	  flock /tmp/wgops-apt.lock sh -c 'apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends graphviz >/dev/null'; }

binaries: ## go install Headscale (the upgrade path's versions) and tailscale, tailscaled, derper (cached by version)
	tests/testbed/go-binaries.sh

integration: collection binaries ## the Headscale/Tailscale modules and config against the real binaries, on loopback
	tests/integration/run.sh

testbed: venv ## install podman and build the Debian base images (cached by tag)
	tests/testbed/setup.sh

molecule: collection testbed ## run one scenario: make molecule S=<scenario>
	@test -n "$(S)" || { echo "usage: make molecule S=<scenario> (one of: $(SCENARIOS))"; exit 2; }
	tests/testbed/run-scenario.sh $(S)

molecule-all: collection testbed binaries ## run every scenario in molecule/SCENARIOS, JOBS (default 2) at a time
	tests/testbed/run-all.sh $(SCENARIOS)

# The Go builds and the test bed (podman, the Debian images: minutes each on a fresh machine) start
# first, in the background, while lint and the unit tests run; `integration` and `molecule-all` wait for
# them (both scripts hold a lock), and run them again in the foreground, so a failure shows there.
test: ## everything CI runs: lint, unit, integration, every scenario in molecule/SCENARIOS
	@mkdir -p $(BUILD) && { tests/testbed/go-binaries.sh >$(BUILD)/go-binaries.log 2>&1 & }
	@{ tests/testbed/setup.sh >$(BUILD)/testbed.log 2>&1 & }
	tests/testbed/stages.sh lint unit integration molecule-all

bench: collection testbed binaries ## planner, role-path and plan.yml benchmarks at fleet scale, and the lab's first run vs re-run
	$(BIN)/python bench/bench_planner.py
	$(BIN)/python bench/bench_roles.py
	bench/bench_fleet.sh

lab: collection graphviz ## a local fleet of containers configured by site.yml (kept running)
	tests/testbed/lab-prereqs.sh
	KEEP=1 tests/testbed/run-scenario.sh lab

lab-destroy: venv ## remove everything `make lab` made
	tests/testbed/run-scenario.sh --destroy lab

clean: ## remove the venv and build products (not the image cache)
	rm -rf $(VENV) $(BUILD) .pytest_cache .hypothesis .ruff_cache

.PHONY: test-scale
test-scale: collection testbed ## a 32-host WireGuard mesh in containers (scenario fleet_scale, ~20 min; kept out of make test)
	tests/testbed/run-scenario.sh fleet_scale

.PHONY: test-matrix
test-matrix: testbed binaries ## ansible-core 2.21 on Python 3.13: sanity, unit, wireguard_mesh and tailnet (~25 min; tests/matrix/run.sh)
	tests/matrix/run.sh

.PHONY: test-kernel
test-kernel: collection ## kernel WireGuard in two qemu VMs (scenario wireguard_kernel, ~10 min; tests/kernel/README.md)
	tests/testbed/run-scenario.sh wireguard_kernel
