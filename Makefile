# coop-tender — two commands: `make demo` and `make test` (each sets up .venv on first use).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint format bench bench-median bench-quick sweep serve stop examples system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

## demo: run the whole tender flow on the Seine-Saint-Denis example, outputs in out/colleges-93
demo: $(STAMP)
	$(BIN)/coop-tender run data/examples/colleges-93 --out out/colleges-93

## test: system packages (Chromium, LibreOffice, poppler, PostgreSQL) if missing, then the suite
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the allocation benchmark (seed, seed60, tight, x10, x40, tight10, dense4) against the greedy and HiGHS peers
bench: $(STAMP)
	$(BIN)/python -m bench.run

## bench-median: the benchmark with three runs of ours per instance (median and range shown)
bench-median: $(STAMP)
	$(BIN)/python -m bench.run --repeat 3

## sweep: 40 varied tenders from the national SIAE directory, judged by the checker, against the peers
sweep: $(STAMP)
	$(BIN)/python -m bench.sweep --count 40 --peers

## bench-quick: the benchmark without the x40 instance
bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --skip-x40

## serve: the shared deployment on localhost (PostgreSQL, Prefect server + worker, deployment, portal)
serve: $(STAMP)
	bash scripts/serve.sh

## stop: stop what `make serve` started
stop:
	bash scripts/stop.sh

## examples: regenerate data/examples/ from data/reference/ (deterministic)
examples: $(STAMP)
	$(BIN)/python scripts/build_examples.py

clean:
	rm -rf out .pytest_cache
