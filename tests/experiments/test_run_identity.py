"""Run identity (docs/architecture.md, "Contracts"):
``<runs_dir>/<sweep>/<task>/<optimizer>/<overrides>/seed=<s>``, no dates, operational keys never
change the directory, scientific ones always do."""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.runs.identity import (
    first_difference,
    run_dir,
    scientific_config,
    scientific_overrides,
)
from tests.experiments.cli import CONFIG_DIR
from tests.runs_in_process import compose_config

RUNS_DIR = "/scratch/runs"


@functools.cache
def compose_run(*overrides: str) -> tuple[DictConfig, dict[str, Any], list[str]]:
    """The config ``python -m experiments.train <overrides>`` would get, with Hydra's choices
    (cached: composing is slow, and no test modifies the result)."""
    cfg = compose_config(f"runs_dir={RUNS_DIR}", *overrides, return_hydra_config=True)
    choices = dict(cfg.hydra.runtime.choices)
    given = list(cfg.hydra.overrides.task)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, choices, given


def directory(*overrides: str) -> Path:
    """The run directory of a command, relative to its ``runs_dir``."""
    cfg, choices, given = compose_run(*overrides)
    path = run_dir(cfg, scientific_overrides(given, cfg, choices), choices)
    return path.relative_to(cfg.runs_dir)


def has_option(group: str, name: str) -> bool:
    return (CONFIG_DIR / group / f"{name}.yaml").exists()


def test_the_default_run_has_the_documented_layout() -> None:
    parts = directory().parts
    assert len(parts) == 5
    assert parts[:3] == ("single", "digits", "adam")
    assert parts[4] == "seed=1"


@pytest.mark.parametrize("seed", [0, 3, 12345])
def test_the_seed_is_the_last_component(seed: int) -> None:
    path = directory(f"seed={seed}", "optimizer.lr=0.01")
    assert path.name == f"seed={seed}"
    assert path.parent.name != "default"
    assert "optimizer.lr=0.01" in path.parent.name


def test_the_sweep_is_the_first_component() -> None:
    assert directory("sweep=radam_table2").parts[0] == "radam_table2"


def test_the_path_holds_no_date_or_time() -> None:
    text = str(directory("optimizer.lr=0.01", "seed=2"))
    assert re.search(r"\d{4}-\d{2}-\d{2}|\d{2}[:-]\d{2}[:-]\d{2}|\d{8}", text) is None, text
    assert time.strftime("%Y") not in text
    assert directory("optimizer.lr=0.01", "seed=2") == Path(text)


OPERATIONAL = [
    "data_dir=/elsewhere/datasets",
    "device=cpu",
    "logger=wandb",
    "launcher=inline",
    "log_every=3",
    "checkpoint_every=7",
    "keep_checkpoint=none",
    "force=true",
]


@pytest.mark.parametrize("override", OPERATIONAL)
def test_operational_keys_do_not_change_the_directory(override: str) -> None:
    assert directory(override) == directory()
    assert directory("optimizer.lr=0.01", override) == directory("optimizer.lr=0.01")


def test_runs_dir_changes_only_the_root() -> None:
    cfg, choices, given = compose_run("runs_dir=/other/place", "task.batch_size=16")
    path = run_dir(cfg, scientific_overrides(given, cfg, choices), choices)
    assert path.parents[4] == Path("/other/place")
    assert path.relative_to("/other/place") == directory("task.batch_size=16")


def test_all_operational_keys_together_do_not_change_the_directory() -> None:
    assert directory(*OPERATIONAL, "seed=4") == directory("seed=4")


SCIENTIFIC = [
    "seed=2",
    "optimizer.lr=0.01",
    "optimizer.eps=1e-6",
    "optimizer.betas=[0.8,0.99]",
    "task.batch_size=64",
    "task.epochs=3",
    "schedule=cosine",
    "deterministic=false",
    "max_steps=5",
    "eval_every=5",
    "sweep=mine",
]


@pytest.mark.parametrize("override", SCIENTIFIC)
def test_scientific_keys_change_the_directory(override: str) -> None:
    assert directory(override) != directory()


def test_every_scientific_override_names_its_own_directory() -> None:
    paths = [directory(), *(directory(override) for override in SCIENTIFIC)]
    assert len(set(paths)) == len(paths)


def test_another_optimizer_preset_changes_the_directory() -> None:
    if not has_option("optimizer", "sgd"):
        pytest.skip("configs/optimizer/sgd.yaml is not there yet")
    path = directory("optimizer=sgd")
    assert path.parts[2] == "sgd"
    assert path != directory()


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("optimizer.lr=1e-3", "optimizer.lr=0.001"),
        ("optimizer.lr=5e-4", "optimizer.lr=0.0005"),
        ("optimizer.eps=1e-08", "optimizer.eps=0.00000001"),
        ("optimizer.betas=[0.9,0.99]", "optimizer.betas=[9e-1,0.99]"),
    ],
)
def test_the_same_value_spelled_differently_is_the_same_directory(one: str, other: str) -> None:
    assert directory(one) == directory(other)


def test_the_order_of_overrides_does_not_matter() -> None:
    forward = directory("optimizer.lr=0.01", "task.batch_size=64", "seed=3")
    backward = directory("seed=3", "task.batch_size=64", "optimizer.lr=0.01")
    assert forward == backward


def test_long_override_lists_fit_in_one_path_component() -> None:
    many = [
        "optimizer.lr=0.001234567",
        "optimizer.betas=[0.812345678,0.987654321]",
        "optimizer.eps=1.234567e-07",
        "optimizer.weight_decay=0.000123456789",
        "task.batch_size=17",
        "task.epochs=11",
        "task.val_fraction=0.123456789",
        "task.test_fraction=0.234567891",
        "task.eval_batch_size=333",
        "max_steps=123456",
        "eval_every=98765",
        "schedule=cosine",
        "schedule.min_lr=0.000000123",
    ]
    path = directory(*many)
    assert all(len(part.encode()) <= 255 for part in path.parts), path
    changed = directory(*many[:-1], "schedule.min_lr=0.000000124")
    assert changed != path


def stored_and_read_back(cfg: DictConfig) -> dict[str, Any]:
    """What the engine compares on resume: the config as written to config.yaml, read back."""
    text = OmegaConf.to_yaml(cfg, resolve=True)
    return OmegaConf.to_container(OmegaConf.create(text), resolve=False)


@pytest.mark.parametrize(
    "overrides",
    [(), ("optimizer.eps=1e-8", "optimizer.lr=3e-4"), ("schedule=cosine", "task.batch_size=8")],
)
def test_a_stored_config_matches_the_config_it_came_from(overrides: tuple[str, ...]) -> None:
    cfg, _, _ = compose_run(*overrides)
    stored = scientific_config(stored_and_read_back(cfg))
    assert first_difference(stored, scientific_config(cfg)) is None


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optimizer.eps=1e-6", "optimizer.eps"),
        ("optimizer.lr=0.002", "optimizer.lr"),
        ("task.batch_size=16", "task.batch_size"),
        ("schedule.min_lr=0.5", "schedule.min_lr"),
        ("+optimizer.extra=1", "optimizer.extra"),
        ("seed=9", "seed"),
    ],
)
def test_first_difference_names_the_changed_key(override: str, key: str) -> None:
    stored, _, _ = compose_run("schedule=cosine")
    current, _, _ = compose_run("schedule=cosine", override)
    found = first_difference(scientific_config(stored), scientific_config(current))
    assert found == key
    assert first_difference(scientific_config(current), scientific_config(stored)) == key


def test_first_difference_finds_a_changed_list_entry() -> None:
    stored, _, _ = compose_run()
    current, _, _ = compose_run("optimizer.betas=[0.9,0.98]")
    found = first_difference(scientific_config(stored), scientific_config(current))
    assert found is not None and found.startswith("optimizer.betas")


@pytest.mark.parametrize("override", OPERATIONAL + ["runs_dir=/other/place"])
def test_operational_keys_are_not_a_difference(override: str) -> None:
    stored, _, _ = compose_run()
    current, _, _ = compose_run(override)
    assert first_difference(scientific_config(stored), scientific_config(current)) is None


def test_naming_the_default_task_and_optimizer_changes_nothing() -> None:
    assert directory("task=digits", "optimizer=adam") == directory()
