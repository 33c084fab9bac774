# sfqb: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
BIN := .venv/bin
# `airflow standalone` starts its components as `airflow ...` subprocesses: the venv goes first.
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export SANDBOX_DIR ?= $(CURDIR)/.sandbox
export SANDBOX_SEED ?= small
export SANDBOX_SF_PORT ?= 8443
export SANDBOX_QB_PORT ?= 8444

# Airflow runs from this repo: its home (SQLite DB, logs) in .airflow/, our dags/ and plugins/.
# The same DAGs run unchanged under docker-compose and in production, configured there by env.
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS := True
export AIRFLOW__CORE__PARALLELISM ?= 4
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL ?= 30

.PHONY: help install demo test test-distributed test-ui test-fast lint package-check sandbox sandbox-stop sync ui bench soak constraints clean

help:
	@echo "make demo          the main job: sandbox servers up, sfqb_sync end to end twice, summary, servers down"
	@echo "                  (QB_EDITION=desktop: on QuickBooks Desktop, through sfqb's Web Connector service)"
	@echo "make test          install if needed, run the whole test suite"
	@echo "make test-distributed  sfqb_sync (Online and Desktop) on the CeleryExecutor: PostgreSQL, Redis, two workers (local processes)"
	@echo "make test-ui       the Airflow UI in a real browser (Chromium from Debian, driven by Playwright)"
	@echo "make sandbox       start the sandbox servers in the background (data in \$$SANDBOX_DIR, default .sandbox/)"
	@echo "make sandbox-stop  stop them (the data stays)"
	@echo "make sync          one run of sfqb_sync through Airflow (against the sandbox in \$$SANDBOX_DIR if running)"
	@echo "make ui            Airflow standalone at http://localhost:8080 with the sandbox and connections"
	@echo "make lint          ruff, and mypy over the product"
	@echo "make package-check the Salesforce package: its schema tests, then the Salesforce CLI converts it (Node.js 22 and the CLI from npm, cached in .cache/sfcli)"
	@echo "make bench         the benchmarks: whole sync at 1k and 10k customers, matching and planning at 1M rows (bench/README.md)"
	@echo "make soak          the business simulation: SOAK_DAYS (30) of business and faults, sfqb_sync hourly, invariants after each run; hours (docs/simulation.md; SOAK_EDITION=desktop)"

install:
	@PYTHON=$(PYTHON) scripts/install.sh

# QB_EDITION=desktop: the demo on QuickBooks Desktop, through sfqb's Web Connector service.
QB_EDITION ?= online

demo: install
	@QB_EDITION=$(QB_EDITION) scripts/demo.sh

# The whole suite in TEST_WORKERS processes (pytest-xdist; each has its own Airflow database and
# sandbox servers; a test file stays on one worker). Three beat two even on 2 cores: the workers
# often wait on the sandbox servers (timings: bench/results/suite.md).
TEST_WORKERS ?= 3

test: install
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 -m "not distributed and not ui" $(PYTEST_ARGS)

# The distributed path (docs/multi-machine.md): PostgreSQL, Redis, the sandbox servers
# and Airflow on the CeleryExecutor (api-server, scheduler, dag-processor, two Celery workers) as
# local processes; sfqb_sync triggered through the REST API. Installs redis-server and the
# PostgreSQL server with apt-get when they are missing (scripts/install-services.sh).
test-distributed: install
	@scripts/install-services.sh
	@SFQB_TEST_DISTRIBUTED=1 $(BIN)/python -m pytest -m distributed tests/distributed $(PYTEST_ARGS)

# The Airflow UI as a data engineer uses it, in headless Chromium (tests/integration/test_browser.py):
# Airflow's three processes against the sandbox, runs triggered from the forms, the sync log read.
# Installs Debian's chromium when it is missing (scripts/install-browser.sh). On a failure the
# page's screenshot and HTML are kept in test-results/ui/.
test-ui: install
	@scripts/install-browser.sh
	@$(BIN)/python -m pytest -m ui tests/integration/test_browser.py $(PYTEST_ARGS)

test-fast: install
	@$(BIN)/python -m pytest -m "unit" $(PYTEST_ARGS)

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check --quiet .
	@$(BIN)/mypy

# The Salesforce package (docs/salesforce-package.md, "Checking the package"): the tests of
# tests/unit/salesforce_metadata, then Node.js 22 and the Salesforce CLI (exact versions in
# scripts/sfcli, installed once into .cache/sfcli with npm ci) convert it, and the result must
# match manifest/package.xml and force-app. No org needed. Needs npm and a Python with pytest:
# the venv's when there is one (no `install` prerequisite: CI's lint has made the venv already).
PACKAGE_CHECK_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))

package-check:
	@$(PACKAGE_CHECK_PYTHON) scripts/package_check.py

sandbox: install
	@scripts/sandbox.sh start

sandbox-stop:
	@scripts/sandbox.sh stop

sync: install
	@scripts/sync.sh
	@$(BIN)/python scripts/show_summary.py sfqb_sync

ui: install sandbox
	@scripts/airflow_db.sh
	@$(BIN)/python scripts/airflow_settings.py --sandbox-dir "$(SANDBOX_DIR)"
	@echo "Airflow UI: http://localhost:8080 (every user is admin locally). Ctrl-C stops Airflow; 'make sandbox-stop' stops the sandbox."
	@REQUESTS_CA_BUNDLE=$$($(BIN)/python -c "import json,sys; print(json.load(open(sys.argv[1]))['ca_bundle'])" "$(SANDBOX_DIR)/connections.json") \
		$(BIN)/airflow standalone

# The standard benchmark set (bench/README.md): the whole sync at BENCH_SIZES customers
# with realistic latency and QuickBooks throttling, then first-run matching up to 1M x 1M rows and
# each area's plan up to 1M rows (bench.planning), then the reconciliation alone at 10k and 100k
# customers (bench.reconcile).
# Results in BENCH_OUT (JSON and markdown); how long each takes: bench/README.md.
BENCH_SIZES ?= 1000,10000
BENCH_OUT ?= bench/results

bench: install
	@$(BIN)/python -m bench.sync --sizes $(BENCH_SIZES) --out $(BENCH_OUT)
	@$(BIN)/python -m bench.matching --out $(BENCH_OUT)
	@$(BIN)/python -m bench.planning --trace-max-rows 100000 --out $(BENCH_OUT)
	@$(BIN)/python -m bench.reconcile --out $(BENCH_OUT)

# The business simulation (docs/simulation.md): SOAK_DAYS simulated days of business on
# both sandbox servers with random faults, sfqb_sync SOAK_RUNS_PER_DAY times a day on the sandbox
# clock, every invariant checked after each run; exit 1 on a violation, printing the seed and the
# first run that broke (replay: python -m sfqb_sim --seed N --days D ...). Result JSON in SOAK_OUT.
# Time is about runs x one sfqb_sync run (30 days hourly = 720 runs; measured durations:
# bench/results/suite.md). SOAK_EDITION=desktop: on QuickBooks Desktop, through sfqb's Web
# Connector service and the Web Connector emulator (docs/simulation.md, "On QuickBooks Desktop").
SOAK_DAYS ?= 30
SOAK_SEED ?= 1
SOAK_RUNS_PER_DAY ?= 24
SOAK_FAULT_RATE ?= 0.1
SOAK_OUT ?= .soak
SOAK_EDITION ?= online

soak: install
	@$(BIN)/python -m sfqb_sim --days $(SOAK_DAYS) --seed $(SOAK_SEED) --runs-per-day $(SOAK_RUNS_PER_DAY) \
		--fault-rate $(SOAK_FAULT_RATE) --edition $(SOAK_EDITION) --out $(SOAK_OUT)

# Regenerate constraints.txt from a fresh resolve of requirements-dev.txt (then commit it).
constraints:
	@rm -rf /tmp/sfqb-constraints-venv && $(PYTHON) -m venv /tmp/sfqb-constraints-venv
	@/tmp/sfqb-constraints-venv/bin/pip install --quiet uv==0.13.9
	@/tmp/sfqb-constraints-venv/bin/uv pip install --quiet --python /tmp/sfqb-constraints-venv/bin/python -r requirements-dev.txt
	@{ head -2 constraints.txt; /tmp/sfqb-constraints-venv/bin/uv pip freeze --python /tmp/sfqb-constraints-venv/bin/python | grep -v '^sfqb'; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	@echo "constraints.txt regenerated"

clean:
	rm -rf .venv .airflow .demo .pytest_cache .ruff_cache .mypy_cache .cache
