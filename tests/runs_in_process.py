"""Configs composed as ``python -m experiments.train`` composes them, and runs in this process.

``compose_config`` is the one place the tests compose ``configs/train.yaml`` through Hydra's
compose API (the ``compose`` fixture of tests/conftest.py hands it out). ``run_in_process``
calls ``experiments.lifecycle.run_one`` here, on a composed config, exactly as the command
line's ``hydra_entry`` calls it (its overrides and group choices from the composed Hydra
config): for tests that only read a run's outputs (``summary.json``, ``metrics.jsonl``,
``config.yaml``). Kills, signals, locks, torchrun, Slurm and the process exit codes stay with
real processes (tests/experiments/cli.py)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"
TEST_CONFIGS = REPO_ROOT / "tests" / "experiments" / "configs"
"""The tests' own config groups (the tiny sequence task), added with ``search_path``."""


def compose_config(
    *overrides: str,
    config_dir: Path = CONFIG_DIR,
    config_name: str | None = "train",
    search_path: Path | None = None,
    return_hydra_config: bool = False,
) -> DictConfig:
    """``config_name`` (``train.yaml``) of ``config_dir`` composed with ``overrides``;
    ``search_path`` adds a folder of config groups (``hydra.searchpath``), as a command line
    does."""
    extra = [f"hydra.searchpath=[file://{search_path}]"] if search_path is not None else []
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose(
            config_name=config_name,
            overrides=[*extra, *overrides],
            return_hydra_config=return_hydra_config,
        )


@dataclass(frozen=True)
class InProcessRun:
    """What ``run_one`` returned (the exit code of the command line) and the run directory
    (None unless exactly one exists under ``runs_dir``)."""

    returncode: int
    run_dir: Path | None
    runs_dir: Path


def run_dirs(runs_dir: Path) -> list[Path]:
    """Every run directory under ``runs_dir`` (those holding a ``config.yaml``)."""
    if not runs_dir.is_dir():
        return []
    return sorted(path.parent for path in runs_dir.rglob("config.yaml"))


def run_in_process(
    runs_dir: Path, overrides: Sequence[str], search_path: Path | None = None
) -> InProcessRun:
    """One run of ``overrides`` (with ``runs_dir``) through ``run_one`` in this process. The
    global state a run sets (seeds, the deterministic-algorithms flag, cudnn.benchmark) is put
    back afterwards, so the tests that follow in this process see what they saw before."""
    from experiments.lifecycle import run_one  # the engine's imports, only for tests that run

    cfg = compose_config(
        f"runs_dir={runs_dir}", *overrides, search_path=search_path, return_hydra_config=True
    )
    task_overrides = list(cfg.hydra.overrides.task)
    choices = dict(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]  # what hydra.main hands its task function
    saved = (
        random.getstate(),
        np.random.get_state(),
        torch.random.get_rng_state(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
    )
    try:
        code = run_one(cfg, task_overrides, choices)
    finally:
        python_rng, numpy_rng, torch_rng, deterministic, warn_only, benchmark = saved
        random.setstate(python_rng)
        np.random.set_state(numpy_rng)
        torch.random.set_rng_state(torch_rng)
        # torch's setter without its import of torch._inductor (experiments/torch_startup.py)
        torch._C._set_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark
    found = run_dirs(runs_dir)
    return InProcessRun(code, found[0] if len(found) == 1 else None, runs_dir)
