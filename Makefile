# The two set-up commands: `make run` and `make test`. Each bootstraps .venv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make test` runs the suite in parallel (pytest-xdist): one worker per core, at most 4, each with its own SQLite files
# or PostgreSQL schema (tests/conftest.py). `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist worksteal

.PHONY: run test test-pg lint bench bench-volume bench-webhook wrk browsers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

## Start the whole platform on SQLite with the demo districts, units, users and a fake WeChat API.
run: $(STAMP)
	$(BIN)/qingsu db upgrade
	$(BIN)/qingsu classifier train --if-missing
	$(BIN)/qingsu seed-demo
	$(BIN)/qingsu run --host 127.0.0.1 --port 5000

## Run every test, in parallel (SQLite; set QINGSU_TEST_DATABASE_URL for another database).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

## The same suite against the local PostgreSQL server.
test-pg: $(STAMP)
	QINGSU_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Benchmarks (speed, memory, classifier accuracy on the real data in ../shared, the webhook under load).
bench: $(STAMP) wrk
	$(BIN)/python -m pytest -q benchmarks

## The webhook's first intake turn against a bare echo bot, on SQLite and PostgreSQL (gunicorn + wrk, loopback).
bench-webhook: $(STAMP) wrk
	$(BIN)/python -m pytest -q benchmarks/test_webhook_load.py

## A year of petitions: seed-volume (1 M on PostgreSQL, 155 k on SQLite), then the jobs, dashboards and list pages.
bench-volume: $(STAMP)
	bash benchmarks/volume.sh

## The HTTP load generator of the webhook benchmark, from Debian.
wrk:
	@command -v wrk >/dev/null || (apt-get install -y wrk || sudo apt-get install -y wrk)

clean:
	rm -rf $(VENV) instance .pytest_cache
