# The two commands a new user runs: `make install` and `make test`. `make help` lists every target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install test test-all lint format train analyses sweep-plan tables export demo benchmark \
	slurm-start slurm-stop bench-optimizers bench-train bench-tables fault-check gpu-check \
	gpu-wheels data-fault-check clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-18s %s\n", $$1, $$2}'

install: ## create .venv and install the suite (editable) with pinned dependencies
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0 torchvision==0.28.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@$(BIN)/python -c "import torch, hydra; print('installed: torch', torch.__version__, '| hydra', hydra.__version__)"

test: lint ## lint, then the test suite without the slow checks (3 min on 2 idle cores, up to ≈ 18 on slower ones; README "Timings")
	OMP_NUM_THREADS=1 $(BIN)/pytest -m "not slow" -q -n auto --dist loadfile $(ARGS)

test-all: lint ## every test, including the slow ones (compiled optimizers, many kill points)
	OMP_NUM_THREADS=1 $(BIN)/pytest -q -n auto --dist loadfile $(ARGS)

lint: ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: ## one run; pass Hydra overrides with ARGS="task=... optimizer=..."
	$(BIN)/python -m experiments.train $(ARGS)

analyses: ## the offline analyses: RAdam's variance simulation, Reddi et al.'s counterexample
	$(BIN)/python -m experiments.analyses.variance
	$(BIN)/python -m experiments.analyses.counterexample

sweep-plan: ## what a sweep would launch, skip and resume: ARGS="+paper=radam/cifar10_sgd"
	$(BIN)/python -m scripts.sweep_plan $(ARGS)

tables: ## the papers' tables, claims and figures from runs/ into tables/<paper>/ (git-ignored)
	$(BIN)/python -m scripts.make_tables --runs runs --out tables $(ARGS)

export: ## every run as one tidy table: runs/export.csv and runs/export.parquet
	$(BIN)/python -m scripts.export_runs --runs runs --out runs/export $(ARGS)

demo: ## offline, 1–6 min on 2 cores (first time): analyses, a 6-optimizer × 3-seed digits sweep, its table and figures
	$(BIN)/python -m scripts.demo $(ARGS)

benchmark: ## your optimizer against Adam, AdamW, RAdam, AdaBound, SGD, equal budgets: ARGS="optimizer=custom optimizer._target_=my_pkg.MyOpt"
	$(BIN)/python -m scripts.benchmark $(ARGS)

slurm-start: ## a local single-node Slurm for trying launcher=slurm (root; scripts/install_slurm.sh)
	scripts/slurm_local.sh start

slurm-stop: ## stop the local Slurm
	scripts/slurm_local.sh stop

bench-optimizers: ## time the optimizer step against torch's fused Adam (writes results/bench/)
	$(BIN)/python -m scripts.bench_optimizers $(ARGS)

bench-train: ## training samples/s per task and pipeline, and the loop's overhead (results/bench/)
	$(BIN)/python -m scripts.bench_train $(ARGS)

bench-tables: ## time make_tables on 10,000 synthetic runs (results/bench/tables-cpu.json)
	$(BIN)/python -m scripts.bench_tables $(ARGS)

fault-check: ## random kills and signals on digits runs, each resumed: n identical / n total
	$(BIN)/python -m scripts.fault_check $(ARGS)

data-fault-check: ## damaged PTB, lm1b and IWSLT files, each case classified: n as promised / n tried
	$(BIN)/python -m scripts.data_fault_check $(ARGS)

gpu-check: ## the GPU record on CUDA (≈ 6 min; docs/gpu_check.md); without CUDA a tiny CPU run
	$(if $(wildcard $(BIN)/python),$(BIN)/python,python3) -m scripts.gpu_check $(ARGS)

gpu-wheels: ## .gpu-wheels/: the wheels a bare GPU machine needs (Hydra, OmegaConf, PyYAML, pytest)
	$(BIN)/python -m scripts.gpu_check.wheels $(ARGS)

clean: ## remove caches (never runs/ or datasets/)
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
