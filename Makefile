# Two commands for a new user: `make run` and `make test`.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
export UV_PROJECT_ENVIRONMENT ?= .venv

.PHONY: run test lint check fmt bench uv install

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

install: uv
	$(UV) sync --frozen

# `make run` keeps its SQLite file in this folder (./tocsin.db) unless TOCSIN_DATABASE_URL is set in
# the environment or .env; the installed `tocsin` defaults to $$XDG_DATA_HOME/tocsin/tocsin.db instead.
# It listens on TOCSIN_HOST and TOCSIN_PORT (127.0.0.1:8080 unless set), and the links it prints follow.
ifeq ($(TOCSIN_DATABASE_URL)$(shell grep -siE '^\s*(export\s+)?TOCSIN_DATABASE_URL\s*=' .env 2>/dev/null),)
run: export TOCSIN_DATABASE_URL := sqlite:///./tocsin.db
endif
run: install
	$(UV) run tocsin migrate
	$(UV) run tocsin demo --print-quickstart
	$(UV) run tocsin serve

test: install
	$(UV) run pytest -q

lint: install
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench
	$(UV) run mypy src
	$(UV) run lint-imports

check: lint test

fmt: install
	$(UV) run ruff format src tests bench
	$(UV) run ruff check --fix src tests bench

bench: install
	$(UV) run python bench/ingest.py
