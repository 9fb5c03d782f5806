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

run: install
	$(UV) run tocsin migrate
	$(UV) run tocsin demo --print-quickstart
	$(UV) run tocsin serve --host 127.0.0.1 --port 8080

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
