# The two commands a new user runs: `make run` and `make test`. Both build .venv first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "zhengji needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/zhengji serve

lint: $(STAMP)
	$(BIN)/ruff check zhengji tests benchmarks
	$(BIN)/ruff format --check zhengji tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format zhengji tests
	$(BIN)/ruff check --fix zhengji tests

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python -m benchmarks.parsers
	$(BIN)/python -m benchmarks.accuracy
	$(BIN)/python -m benchmarks.mutations --pdf --doc
	$(BIN)/python -m benchmarks.smtp
	$(BIN)/python -m benchmarks.latency
	$(BIN)/python -m benchmarks.queue
	$(BIN)/python -m benchmarks.instances
	$(BIN)/python -m benchmarks.bot
	$(BIN)/python -m benchmarks.bot_questions
	$(BIN)/python -m benchmarks.bot_questions --table unseen
