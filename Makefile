# Ketacare: two commands for a fresh clone. `make demo` runs the demo clinic; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
DEMO_DB ?= var/demo.db
# Test workers: twice the 2 cores CI has, as more than half of a worker's time waits on servers, browsers and the database.
TEST_WORKERS ?= 4

.PHONY: demo test test-postgres bench lint audit-deps serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	@mkdir -p var
	KETACARE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/ketacare demo --host $(HOST) --port $(PORT)

serve: $(VENV)/.installed
	$(BIN)/ketacare serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=25 $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed
	KETACARE_TEST_POSTGRES_URL=$${KETACARE_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	  $(BIN)/python -m pytest -q -m postgres $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet cython setuptools wheel
	$(BIN)/python -m pip install --quiet --no-build-isolation opentiva  # benchmark-only comparison (issue #6)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# Known vulnerabilities of the installed packages (PyPI's advisory data; needs that network). --strict fails when a
# package could not be checked, so an unreachable advisory service is a failure, never a silent "no findings".
# Not part of `lint`/.ci/run: CI's machine reaches the package index but not the advisory service.
audit-deps: $(VENV)/.installed
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
