"""Every recipe declares the loop's recipe keys, so ``task.<key>=…`` overrides work on each; a run
directory written before its recipe declared them still resumes (the resume check takes a key
missing from the stored config as the loop's default)."""

from __future__ import annotations

import pytest
from omegaconf import DictConfig, OmegaConf

from experiments.config_checks import ConfigError
from experiments.loop_options import LoopOptions
from experiments.runs.identity import LOOP_RECIPE_DEFAULTS, first_difference, scientific_config
from tests.experiments.cli import CONFIG_DIR
from tests.runs_in_process import compose_config

RECIPE_KEYS = ("clip_grad_norm", "update_freq", "precision", "eval_precision", "compile")
RECIPES = sorted(path.stem for path in (CONFIG_DIR / "task").glob("*.yaml"))


def composed(*overrides: str) -> DictConfig:
    return compose_config(*overrides)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_declares_the_loop_keys(recipe: str) -> None:
    task = OmegaConf.load(CONFIG_DIR / "task" / f"{recipe}.yaml").task
    assert [key for key in RECIPE_KEYS if key not in task] == []


def test_the_default_task_takes_a_clipping_override() -> None:
    assert composed("task.clip_grad_norm=1.0").task.clip_grad_norm == 1.0


def stored_before(cfg: DictConfig, *undeclared: str) -> dict:
    """The scientific config as a run stored it before its recipe declared ``undeclared``."""
    stored = scientific_config(cfg)
    for key in undeclared:
        del stored["task"][key]
    return stored


@pytest.mark.parametrize(
    ("recipe", "undeclared"), [("digits", RECIPE_KEYS), ("ptb_lstm3", ("update_freq",))]
)
def test_a_stored_config_without_the_declared_keys_still_resumes(
    recipe: str, undeclared: tuple[str, ...]
) -> None:
    cfg = composed(f"task={recipe}")
    assert all(cfg.task[key] == LOOP_RECIPE_DEFAULTS[f"task.{key}"] for key in undeclared)
    assert first_difference(stored_before(cfg, *undeclared), scientific_config(cfg)) is None


def test_a_declared_key_that_is_not_the_default_still_differs() -> None:
    stored = stored_before(composed(), *RECIPE_KEYS)
    changed = scientific_config(composed("task.clip_grad_norm=1.0"))
    assert first_difference(stored, changed) == "task.clip_grad_norm"
    assert first_difference(changed, stored) == "task.clip_grad_norm"  # and the other way round


def test_evaluation_precision_is_its_own_key_and_defaults_to_fp32() -> None:
    trained_in_bf16 = LoopOptions.from_task_config(composed("task.precision=bf16").task)
    assert (trained_in_bf16.precision, trained_in_bf16.eval_precision) == ("bf16", "fp32")
    asked = LoopOptions.from_task_config(composed("task.eval_precision=bf16").task)
    assert (asked.precision, asked.eval_precision) == ("fp32", "bf16")
    with pytest.raises(ConfigError, match=r"task.eval_precision='fp8' is invalid: one of fp32"):
        LoopOptions.from_task_config(composed("task.eval_precision=fp8").task)
