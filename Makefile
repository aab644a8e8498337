# The newcomer's path: `make run`, `make test`. Everything installs itself into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test test-pg15 lint bench install clean-db

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded PostgreSQL, schema, demo school if the database is empty, then the login form.
run: $(STAMP)
	$(BIN)/school-tui --demo-if-empty

# The whole suite on the embedded server, or on SCHOOL_TUI_TEST_DSN's server if set.
test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# The same suite against this machine's PostgreSQL 15 (CI runs both).
test-pg15: $(STAMP)
	SCHOOL_TUI_TEST_DSN='host=127.0.0.1 port=5432 dbname=test' $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# Style, the layering rules (pyproject's [tool.importlinter]) and the types ([tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check school_tui tests benchmarks
	$(BIN)/ruff format --check school_tui tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)
