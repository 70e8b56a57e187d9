# benefitsync — the two commands: `make run` and `make test`. Everything else is a helper of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# pytest-xdist workers per database pass (auto = one per CPU). Each worker has its own SQLite
# test file (settings.py: test-<pid>.sqlite3) or PostgreSQL test database (<name>_gw<N>).
PYTEST_WORKERS ?= auto

.PHONY: run run-scale test test-fast test-sqlite test-postgres lint typecheck format install browser bench soak clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## Start the product on its embedded default: SQLite, in-process worker, the Personio sandbox, demo data.
run: install
	$(BIN)/benefitsync migrate --noinput
	$(BIN)/benefitsync demo
	$(BIN)/benefitsync run

## Start the scale mode locally: PostgreSQL + Redis, gunicorn web, 2 workers (see docs/operations.md).
run-scale: install
	DATABASE_URL=$(PG_URL) REDIS_URL=redis://127.0.0.1:6379/0 $(BIN)/benefitsync migrate --noinput
	DATABASE_URL=$(PG_URL) REDIS_URL=redis://127.0.0.1:6379/0 $(BIN)/benefitsync run --scale

## The whole suite: lint, type check, tests on SQLite, and (in CI or when reachable) on PostgreSQL.
test: install lint typecheck browser test-sqlite test-postgres

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install
	$(BIN)/mypy

# Debian's chromium drives the browser tests (Playwright cannot download its own browser here).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$CI" = "true" ] || [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: browser tests will skip (fail under CI=true)"; \
	  else echo "chromium missing: browser tests will skip"; fi; \
	fi

test-sqlite: install
	BENEFITSYNC_DATA_DIR=$(CURDIR)/var/test $(BIN)/pytest -n $(PYTEST_WORKERS)

## The inner loop: SQLite only, without the tests marked slow (fault soak subset, kill -9,
## browser, multi-worker). `make test` and CI run everything.
test-fast: install
	BENEFITSYNC_DATA_DIR=$(CURDIR)/var/test $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not slow"

# The same suite on PostgreSQL. Skips with a visible reason when the server is unreachable,
# except under CI=true, where an unreachable server is a failure.
test-postgres: install
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  BENEFITSYNC_DATA_DIR=$(CURDIR)/var/test-pg DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser"; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL at $(PG_URL) is unreachable (CI=true): failing"; exit 1; \
	else echo "SKIPPED the PostgreSQL run: $(PG_URL) is unreachable"; fi

bench: install
	$(BIN)/python bench/run_all.py

## The full fault and crash counts (200 seeded fault runs, 50 kill -9 runs); CI runs a subset.
soak: install
	BENEFITSYNC_SOAK=1 BENEFITSYNC_DATA_DIR=$(CURDIR)/var/soak $(BIN)/pytest tests/resilience

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
