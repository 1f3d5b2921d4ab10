# The project's entry points. `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install lint typecheck unit test demo up down status clean bench distclean

$(STAMP): pyproject.toml $(wildcard setup.py schemas/_avrofast.c ingest/_columns.c graphstore/cassandra/_recentrows.c)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Unit tests only (no cluster).
unit: install
	$(BIN)/pytest -m "not integration"

# Everything: lint, types, then the cluster up, every test, the cluster down (even on failure).
test: lint typecheck
	bash ops/run-tests.sh

demo: install
	$(BIN)/rdg demo

up: install
	$(BIN)/python -m ops.cluster up

down: install
	$(BIN)/python -m ops.cluster down

status: install
	$(BIN)/python -m ops.cluster status

clean: install
	$(BIN)/python -m ops.cluster clean

bench: install
	$(BIN)/python bench/engine.py

distclean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
