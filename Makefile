# The two commands a new user runs: `make install` and `make test`. `make help` lists every target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install test test-all lint format train bench-optimizers clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-18s %s\n", $$1, $$2}'

install: ## create .venv and install the suite (editable) with pinned dependencies
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0 torchvision==0.28.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@$(BIN)/python -c "import torch, hydra; print('installed: torch', torch.__version__, '| hydra', hydra.__version__)"

test: lint ## lint, then the test suite without the slow checks (≈ 10 min on 2 cores)
	OMP_NUM_THREADS=1 $(BIN)/pytest -m "not slow" -q $(ARGS)

test-all: lint ## every test, including the slow ones (compiled optimizers, many kill points)
	OMP_NUM_THREADS=1 $(BIN)/pytest -q $(ARGS)

lint: ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: ## one run; pass Hydra overrides with ARGS="task=... optimizer=..."
	$(BIN)/python -m experiments.train $(ARGS)

bench-optimizers: ## time the optimizer step against torch's fused Adam (writes results/bench/)
	$(BIN)/python -m scripts.bench_optimizers $(ARGS)

clean: ## remove caches (never runs/ or datasets/)
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
