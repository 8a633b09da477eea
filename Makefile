# Meridian: `make run` starts everything, `make test` runs the suite. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
# uv from PATH, else a private copy under .tools/ installed with pip (no network beyond PyPI).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export XDG_RUNTIME_DIR ?= /tmp/meridian-runtime-$(shell id -u)

.PHONY: help setup run dev services_start service_auth service_ingestion service_analytics db_setup db_clean seed logs lint test bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.tools/bin/uv:
	@echo "uv not found on PATH: installing it under .tools/"
	$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv

setup: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) ## Install uv if missing and every package (uv sync)
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	$(UV) sync --all-packages --frozen

run: setup ## Start every service and its worker (embedded PostgreSQL unless DATABASE_URL is set)
	$(UV) run python scripts/run.py

dev: run ## Same as run (the GA system's name)

services_start: run ## Same as run (the GA system's name)

service_auth: setup ## Run the auth service alone (with its worker)
	$(UV) run python scripts/run.py auth

service_ingestion: setup ## Run the ingestion service alone (with its worker; needs auth for callers)
	$(UV) run python scripts/run.py ingestion

service_analytics: setup ## Run the analytics service alone (with its worker; needs auth for callers)
	$(UV) run python scripts/run.py analytics

db_setup: setup ## Apply every service's migrations
	$(UV) run python scripts/init_db.py

db_clean: setup ## Drop every service's schema (development only)
	$(UV) run python scripts/clear_db.py

seed: setup ## Make sure the demo tenant exists (development only)
	$(UV) run python scripts/seed_demo.py

logs: ## Follow every service's log
	@ls logs/*.log >/dev/null 2>&1 || { echo "no logs yet: start Meridian with make run"; exit 0; }; \
	tail -n 50 -F logs/*.log

lint: setup ## ruff and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy common/src services/auth/src services/ingestion/src services/analytics/src

test: setup ## ruff and mypy, then the whole suite on a throw-away database
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy common/src services/auth/src services/ingestion/src services/analytics/src
	$(UV) run pytest

bench: setup ## Benchmarks (figures printed as ratios to a baseline measured in the same run)
	$(UV) run python scripts/bench/run_all.py

clean: ## Remove caches, logs and the local database (var/)
	-$(UV) run python scripts/devdb.py stop 2>/dev/null
	rm -rf var logs .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
