# Two entry points for a fresh machine with Python 3.11 and make: `make demo` and `make test`.
# Keep the venv's bytecode even where the environment sets PYTHONDONTWRITEBYTECODE (as this
# project's machines do): otherwise every process the targets start (each CLI call, notebook kernel
# and Spark worker of the tests) compiles the ~1,000 modules it imports again, ~2 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# One .venv, two installs: the demo needs the core and the plots extra only; the tests
# need the dev extra (ruff, mypy, pytest, pyspark, Synapse, ...). Each has its own stamp.
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo
DEMO_DIR := demo-output
# The documented synthetic key (riskscore.moderation.transparency.SYNTHETIC_DEMO_KEY): for
# synthetic data only; a platform sets its own secret of 32+ random bytes.
DEMO_KEY := riskscore-synthetic-demo-key-NOT-A-SECRET-v1

.PHONY: demo test lint typecheck pytest model bench report dist clean help

help:
	@echo "make demo   - create .venv, install, generate synthetic events, score them, print top alerts"
	@echo "make test   - install dev tools and run ruff, mypy and pytest (doctests and notebooks included)"
	@echo "make model  - retrain the shipped default model in riskscore/model/default/ (reproducible, seeded)"
	@echo "make report - a synthetic month end to end (alerts, queue, moderators, exports, shadow) -> reports/"
	@echo "make bench  - throughput of riskscore against polars, pandas and a Python loop (1M messages)"
	@echo "make dist   - the sdist, and the wheel built from it, in dist/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[plots]'
	@touch $(DEMO_STAMP)

# --no-compile: byte-compiling the ~13,000 modules of the dev tools (pyspark, Synapse, ...)
# at install costs over a minute of CPU; Python compiles only the ones the tests import, when they
# are first imported, and keeps them.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	@touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/riskscore generate --conversations 20000 --prevalence 0.01 --seed 7 --out $(DEMO_DIR)
	$(BIN)/riskscore score $(DEMO_DIR)/events.parquet --out $(DEMO_DIR) --top 5

# ruff and mypy run at a lower CPU priority (nice), so that under `make test` they take the
# time pytest leaves idle instead of slowing it: pytest is the longest of the three.
lint: $(STAMP)
	nice -n 10 $(BIN)/ruff check .
	nice -n 10 $(BIN)/ruff format --check .

typecheck: $(STAMP)
	nice -n 10 $(BIN)/mypy

# Two workers, each sent one test file at a time (its module fixtures computed once; the
# files on the shared Spark session count as one), the slowest first (tests/conftest.py).
# `riskscore warmup` first: on a fresh clone it compiles the numba kernels once (~30 CPU s, in
# two processes: batch paths and online path side by side)
# into the cache, instead of in each worker and each CLI subprocess that starts before the
# cache is written (which cost the suite ~90 s on two cores).
pytest: $(STAMP)
	$(BIN)/riskscore warmup
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || echo "note: no Java found, so the Spark tests (tests/test_spark.py) will be skipped; install Java 17+ (apt-get install -y openjdk-17-jre-headless) and rerun make test to run them"
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# The three checks run side by side (pytest's two workers leave a core idle while they wait
# on Spark and subprocesses, which is when mypy and ruff run); the output of each is kept
# together, and any failure fails `make test`.
test: $(STAMP)
	@$(MAKE) --no-print-directory --output-sync=target -j3 lint typecheck pytest

# The release files: the sdist, then the wheel built from the sdist in a temporary directory
# (as `python -m build` does), never from this tree's build/, where setuptools leaves the files
# of modules since deleted or renamed and `pip wheel .` would ship them.
DIST := dist
dist: $(STAMP)
	rm -rf $(DIST)
	$(BIN)/python -c 'from setuptools import build_meta as b; b.build_sdist("$(DIST)")' >/dev/null
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir $(DIST) $(DIST)/riskscore_metadata-*.tar.gz

model: $(STAMP)
	$(BIN)/python -m riskscore.cli train --worlds 192 --conversations 4000 --prevalence 0.04 --seed 2026 --replace-shipped-model --out riskscore/model/default

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_throughput.py

# Synthetic month: events, online alerts, review queue, simulated moderators, transparency report
# (with the month's drift), regulatory exports, a model learnt from the decisions, and that model
# in shadow mode compared with production (reports/shadow/compare.json).
# The key is a demo key for synthetic data only; a platform sets its own secret.
report: $(STAMP)
	mkdir -p $(DEMO_DIR)
	rm -f $(DEMO_DIR)/month-queue.sqlite $(DEMO_DIR)/month-queue.sqlite-wal $(DEMO_DIR)/month-queue.sqlite-shm
	RISKSCORE_REPORT_KEY=$(DEMO_KEY) $(BIN)/riskscore report --synthetic-month \
		--conversations 20000 --prevalence 0.01 --seed 2026 --platform "synthetic platform" \
		--db $(DEMO_DIR)/month-queue.sqlite --out reports/transparency
	$(BIN)/riskscore queue --db $(DEMO_DIR)/month-queue.sqlite --now 1769817599 --top 3
	rm -rf reports/regulatory
	RISKSCORE_REPORT_KEY=$(DEMO_KEY) $(BIN)/riskscore export \
		--db $(DEMO_DIR)/month-queue.sqlite --out reports/regulatory --platform "synthetic platform" \
		--from 2026-01-01 --to 2026-01-30
	rm -rf $(DEMO_DIR)/month $(DEMO_DIR)/from-decisions
	$(BIN)/riskscore generate --conversations 20000 --prevalence 0.01 --seed 2026 --days 30 --out $(DEMO_DIR)/month
	$(BIN)/riskscore train --from-queue $(DEMO_DIR)/month-queue.sqlite \
		--events $(DEMO_DIR)/month/events.parquet --out $(DEMO_DIR)/from-decisions
	# shadow mode: the bundle learnt from decisions scored next to the shipped one (never queued)
	rm -rf $(DEMO_DIR)/shadow-run reports/shadow
	$(BIN)/riskscore score $(DEMO_DIR)/month/events.parquet --shadow-model $(DEMO_DIR)/from-decisions \
		--out $(DEMO_DIR)/shadow-run --top 0
	$(BIN)/riskscore compare --shadow-run $(DEMO_DIR)/shadow-run \
		--queue $(DEMO_DIR)/month-queue.sqlite --out reports/shadow

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
