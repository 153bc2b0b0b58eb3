# PasarKota — the two commands: `make up` and `make test`. Everything else is a helper.
SHELL := /bin/bash
# The first interpreter that actually runs and is >= 3.11 (pyenv shims may exist for versions not installed).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up up-detached down status test test-fast lint typecheck contracts validate-contracts test-alerts test-k8s bench clean lock

install: $(STAMP)

# Exactly the locked versions (with hashes), then the project itself without resolving anything; `pip check`
# fails when pyproject.toml asks for something the lock lacks (run `make lock`).
$(STAMP): pyproject.toml requirements-dev.lock
	@[ -n "$(PYTHON)" ] || { echo "PasarKota needs Python >= 3.11 on PATH (python3.11, python3.12, ...)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PasarKota needs Python >= 3.11 (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

## Re-resolve the locks after changing dependencies in pyproject.toml (pip-tools in a throwaway venv).
lock:
	@[ -x .lockenv/bin/pip-compile ] || { $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet pip-tools; }
	.lockenv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
	  -o requirements.lock pyproject.toml
	.lockenv/bin/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
	  -c requirements.lock -o requirements-dev.lock pyproject.toml

## The whole platform with the demo cities, in the foreground (Ctrl-C stops it).
up: install
	$(BIN)/pasarkota up

up-detached: install
	$(BIN)/pasarkota up --detach

down: install
	$(BIN)/pasarkota down

status: install
	$(BIN)/pasarkota status

## The full suite: lint, contracts, unit, contract and integration tests on a real Kafka and Postgres.
test: install lint typecheck
	$(BIN)/pasarkota contracts check
	$(MAKE) --no-print-directory validate-contracts test-alerts test-k8s
	$(BIN)/python -m pytest -q -ra

test-fast: install
	$(BIN)/python -m pytest -q tests/unit tests/contract

lint: install
	$(BIN)/ruff check .

typecheck: install
	MYPYPATH=services/catalog:services/orders:services/payments:services/learning:services/identity:services/notifications:services/portal:. \
	  $(BIN)/mypy -p shared -p deploy -p catalog -p orders -p payments -p learning -p identity -p notifications -p portal -m tests.bench.bench_payments -m tests.bench.bench_chaos

contracts: install
	$(BIN)/pasarkota contracts export

## The alert rules, through Prometheus' own promtool (built once from the Go module proxy, cached like Kafka's jars).
PROMTOOL_VERSION := v0.316.0
PROMTOOL := $(HOME)/.cache/pasarkota/promtool-$(PROMTOOL_VERSION)/promtool
test-alerts:
	@[ -x $(PROMTOOL) ] || { command -v go >/dev/null || { echo "test-alerts builds promtool with Go (>= 1.24)"; exit 1; }; \
	  echo "building promtool $(PROMTOOL_VERSION) once (a few minutes) into $(dir $(PROMTOOL)) ..."; \
	  GOBIN=$(dir $(PROMTOOL)) GOFLAGS=-mod=mod go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION); }
	cd deploy/k8s/monitoring && $(PROMTOOL) check rules pasarkota-rules.yml && $(PROMTOOL) test rules pasarkota-rules.test.yml

## The Kubernetes manifests: `kustomize build` of the base, both overlays (managed Kafka/Postgres; Strimzi +
## CloudNativePG in the cluster) and monitoring. Built-in kinds are validated against the Kubernetes schemas offline
## (kubernetes-validate ships them); custom resources (Strimzi, CloudNativePG, Prometheus Operator) against the
## operators' own CRD schemas, as packaged by kubernetes-models on npm (tools/k8s-validate). kustomize is built once
## from the Go module proxy. The overlays' generated/ files are checked for drift by `pasarkota contracts check`.
KUSTOMIZE_VERSION := v5.7.1
KUSTOMIZE := $(HOME)/.cache/pasarkota/kustomize-$(KUSTOMIZE_VERSION)/kustomize
K8S_VERSION := 1.33.0
K8S_DIRS := deploy/k8s/base deploy/k8s/overlays/managed deploy/k8s/overlays/in-cluster deploy/k8s/monitoring
test-k8s: install
	@[ -x $(KUSTOMIZE) ] || { command -v go >/dev/null || { echo "test-k8s builds kustomize with Go"; exit 1; }; \
	  GOBIN=$(dir $(KUSTOMIZE)) GOFLAGS=-mod=mod go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION); }
	@command -v node >/dev/null || { echo "test-k8s needs Node.js (apt-get install nodejs npm)"; exit 1; }
	@[ -d tools/k8s-validate/node_modules ] || (cd tools/k8s-validate && npm ci --no-audit --no-fund --loglevel=error)
	@set -e; for dir in $(K8S_DIRS); do \
	  out=$$(mktemp --suffix=.yaml); $(KUSTOMIZE) build $$dir > $$out; \
	  $(BIN)/kubernetes-validate --strict --quiet -k $(K8S_VERSION) $$out 2>&1 | grep -v "Couldn't find schema for kind" \
	    | { ! grep . ; } || { echo "$$dir: invalid manifests"; exit 1; }; \
	  node tools/k8s-validate/validate.mjs $$out >/dev/null || { echo "$$dir: invalid custom resources"; exit 1; }; \
	  echo "$$dir: $$(grep -c '^kind:' $$out) resources valid (Kubernetes $(K8S_VERSION) and the operators' CRDs)"; \
	  rm -f $$out; done

## The committed AsyncAPI and OpenAPI documents, through the official parsers (Node.js, packages as locked).
validate-contracts:
	@command -v node >/dev/null || { echo "validate-contracts needs Node.js (apt-get install nodejs npm)"; exit 1; }
	@[ -d tools/contracts-validate/node_modules ] || (cd tools/contracts-validate && npm ci --no-audit --no-fund --loglevel=error)
	cd tools/contracts-validate && node validate.mjs ../../contracts

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
