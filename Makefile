# Runwright: one entry point. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
UV = $(shell command -v uv 2>/dev/null || echo .uv/bin/uv)

.PHONY: help install run test bench soak lint fmt typecheck proto check-proto clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

install: ## install everything: Python deps (uv, locked), Chromium (Playwright's or Debian's)
	@bash deploy/bootstrap.sh

run: install ## start the whole system in the foreground (Ctrl-C stops it; RUNWRIGHT_CLUSTER=1: clustered)
	@$(VENV)/bin/runwright run

test: install ## run the test suite (real nats-server, PostgreSQL, Chromium)
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: install ## run the benchmarks (figures beside a baseline measured in the same run)
	@$(PY) -m tests.bench $(BENCH_ARGS)

soak: install ## the chaos soak: every kind of job while processes die, then the checker (SOAK_ARGS="--jobs 1000 --faults 60")
	@$(PY) -m tests.soak $(SOAK_ARGS)

.PHONY: screenshots
screenshots: install ## refresh the console screenshots in docs/images (starts the whole system)
	@$(PY) -m scripts.screenshots

lint: install ## ruff
	@$(VENV)/bin/ruff check .

fmt: install ## format with ruff
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

typecheck: install ## mypy (strict) over libs and services
	@$(VENV)/bin/mypy proto libs services

proto: install ## regenerate proto/schema (JSON Schema, AsyncAPI), deploy/nats/authorization.conf, deploy/postgres/roles.sql
	@$(PY) -m runwright_proto.schema
	@$(PY) -m runwright_stack.nats_auth
	@$(PY) -m runwright_db.roles_file

check-proto: install ## fail when proto/schema is stale
	@$(PY) -m runwright_proto.schema --check
	@$(PY) -m runwright_stack.nats_auth --check
	@$(PY) -m runwright_db.roles_file --check

clean: ## remove the virtual environment and caches (keeps .runwright data)
	rm -rf $(VENV) .uv .pytest_cache .ruff_cache .mypy_cache
