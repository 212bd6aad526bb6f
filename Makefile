# Two entry points for a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-output

.PHONY: demo test lint typecheck pytest model clean help

help:
	@echo "make demo   - create .venv, install, generate synthetic events, score them, print top alerts"
	@echo "make test   - install dev tools and run ruff, mypy and pytest (doctests and notebooks included)"
	@echo "make model  - retrain the shipped default model in models/default/ (reproducible, seeded)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/riskscore generate --conversations 20000 --prevalence 0.01 --seed 7 --out $(DEMO_DIR)
	$(BIN)/riskscore score $(DEMO_DIR)/events.parquet --out $(DEMO_DIR) --top 5

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

model: $(STAMP)
	$(BIN)/python -m riskscore.cli train --conversations 60000 --prevalence 0.02 --seed 2026 --out models/default

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
