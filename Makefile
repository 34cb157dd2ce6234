# fuelpipe: every target sets up what it needs from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
# The interpreter that packages the Lambda zips: the runtime's version (infra/template.yaml) puts
# its bytecode in them (the deploy workflow sets python3.12); another packs sources only.
PACKAGE_PYTHON ?= $(BIN)/python
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup venv test lint types pytest wheel-check gates demo demo-aws bench chaos package browser-deps plotly clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(wildcard requirements/*.txt)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	if [ -f requirements/dev.txt ]; then \
	  $(BIN)/pip install -q --require-hashes -r requirements/dev.txt && $(BIN)/pip install -q --no-deps -e . ; \
	else $(BIN)/pip install -q -e '.[dev]'; fi
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP) $(NODE_STAMP) ## create the virtualenv and node_modules

venv: $(STAMP) ## the virtualenv alone (the deploy job runs scripts/deploy.py from it)

plotly: $(NODE_STAMP) ## rebuild the committed partial Plotly bundle and the minified app.min.js, outlook.min.js, health.min.js and live.min.js (after editing the page's scripts)
	node scripts/plotly/build.mjs

browser-deps: ## Debian's Chromium for the browser tests (or set FUELPIPE_CHROMIUM)
	@test -x "$${FUELPIPE_CHROMIUM:-/usr/bin/chromium}" || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP) ## ruff, and the import rules (lint-imports, contracts in pyproject.toml)
	$(BIN)/ruff check src tests lambdas bench scripts devtools
	$(BIN)/ruff format --check src tests lambdas bench scripts devtools
	$(BIN)/lint-imports --no-cache

types: $(STAMP) ## mypy --strict on src/
	$(BIN)/mypy

# Test processes: pytest-xdist, one per core by default (`make test PYTEST_WORKERS=0` runs in this
# process); --dist loadfile keeps a file's tests, and its module fixtures, on one worker.
PYTEST_WORKERS ?= auto
pytest: $(STAMP) $(NODE_STAMP) browser-deps ## every test, the slow fault suite too (live ones stay off), on every core
	$(BIN)/pytest -q -p no:cacheprovider -m "not live" -n $(PYTEST_WORKERS) --dist loadfile

wheel-check: $(STAMP) ## build the wheel, install it bare and with [dashboard], run the CLI
	$(BIN)/python scripts/wheel_check.py

gates: $(STAMP) $(NODE_STAMP) ## template and workflow checks
	bash scripts/gates.sh

test: lint types pytest wheel-check gates ## what CI runs: lint, types, tests, wheel, gates

demo: $(STAMP) ## the whole pipeline offline on the bundled real data, then the dashboard
	$(BIN)/fuelpipe demo

demo-aws: $(STAMP) $(NODE_STAMP) ## the demo on dynalite + moto_server through the Lambda handlers
	$(BIN)/python scripts/demo_aws.py

bench: $(STAMP) $(NODE_STAMP) browser-deps ## benchmarks, side by side; writes docs/BENCHMARKS.md
	$(BIN)/python -m bench

chaos: $(STAMP) $(NODE_STAMP) ## the full fault-injection suite; writes docs/RELIABILITY.md
	$(BIN)/python -m scripts.chaos

package: $(STAMP) ## one reproducible zip per Lambda under build/lambdas/
	PYTHONPATH=src $(PACKAGE_PYTHON) scripts/package_lambdas.py

clean: ## remove build output and the local store and queue (the station lake, data/lake, is kept)
	rm -rf build dist data/fuelpipe.sqlite* data/fuelpipe-queue.sqlite* data/fuelpipe-watch.lock
