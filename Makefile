# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install install-dev clean bench audit screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'

run: install
	$(BIN)/scimgate quickstart --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

# The admin web UI's screenshots in docs/admin-ui/, taken by its browser tests (they
# need Chromium at /usr/bin/chromium, or SCIMGATE_CHROMIUM pointing at one).
screenshots: install-dev
	SCIMGATE_SCREENSHOTS=docs/admin-ui $(BIN)/pytest tests/ui -k sqlite -q

# Known vulnerabilities (PyPI's advisory data) in every installed distribution but the
# project itself, which is installed editable. Exit 1 when one is found.
AUDIT_ARGS ?=
audit: install-dev
	$(BIN)/pip-audit --skip-editable --progress-spinner off $(AUDIT_ARGS)

# A modest default run (2 to 4 minutes on 2 CPUs): scimgate, then scim2-server with the
# same data and workloads, on SQLite; results in bench/results/latest.md. Override, e.g.:
#   make bench BENCH_ARGS="--database-url postgresql+psycopg://... --users 100000 --workers 1,2"
#   make bench BENCH_ARGS="--workloads= --compare none --sizes 10000,100000,1000000"
# `python -m bench --help` lists every option.
BENCH_ARGS ?= --users 2000 --group-members 1000 --grow 1000 --duration 3 --concurrency 4
bench: install-dev
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/ruff check bench
	$(BIN)/ruff format --check bench
	$(BIN)/mypy --strict bench
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .mypy_cache .pytest_cache .ruff_cache
