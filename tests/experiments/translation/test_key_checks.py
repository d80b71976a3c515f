"""Every key of the translation recipes is checked before the run: dropout rates, ``remove_bpe``
and the generation lengths are one line naming the key and the value (``ConfigError``, exit 2
through ``experiments.assembly``), raised before the corpus is read; ``task.average.last`` above
the snapshots the recipe's budget takes is refused when the run is built (``build_run``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from data.sample_corpora import write_iwslt14
from experiments.assembly import BuiltRun, build_run
from experiments.config_checks import ConfigError
from experiments.distributed import World
from experiments.tasks.translation.task import build, check_data
from tests.experiments.translation.test_translation_task import TINY_MODEL
from tests.runs_in_process import compose_config

BAD_KEYS = {
    "dropout": ("task.model.dropout=2", "[0, 1]"),
    "attention-dropout": ("task.model.attention_dropout=-0.1", "[0, 1]"),
    "activation-dropout": ("task.model.activation_dropout=1.5", "[0, 1]"),
    "remove-bpe-number": ("task.remove_bpe=12", "a string"),
    "max-len-b-negative": ("task.generation.final.max_len_b=-1", ">= 0"),
    "max-len-a-negative": ("task.generation.validation.max_len_a=-1.2", ">= 0"),
    "min-len-negative": ("task.generation.min_len=-1", ">= 0"),
}


def task_config(recipe: str, *overrides: str) -> DictConfig:
    return compose_config(f"task={recipe}", *TINY_MODEL, *overrides).task


def make(data_dir: Path, *overrides: str, recipe: str = "iwslt14_de_en"):  # noqa: ANN201
    cfg = task_config(recipe, *overrides)
    return build(cfg, seed=1, data_dir=str(data_dir), device=torch.device("cpu"), world=World())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_iwslt14(root, longest=12)
    return root


@pytest.mark.parametrize("recipe", ["iwslt14_de_en", "wmt16_en_de"])
@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_a_bad_key_is_refused_before_the_corpus_is_read(
    case: str, recipe: str, tmp_path: Path
) -> None:
    override, allowed = BAD_KEYS[case]
    key, value = override.split("=")
    empty = tmp_path / "no-data"  # a missing corpus would be DataUnavailable, not this
    with pytest.raises(ConfigError) as refused:
        make(empty, override, recipe=recipe)
    line = str(refused.value)
    assert "\n" not in line and f"{key}={value}" in line and allowed in line, line
    with pytest.raises(ConfigError) as checked:  # what a sweep checks before launching
        check_data(task_config(recipe, override), data_dir=str(empty))
    assert str(checked.value) == line


@pytest.mark.parametrize("value", ["auto", "null", "'@@ '"])
def test_remove_bpe_takes_auto_null_or_a_symbol(value: str, data_dir: Path) -> None:
    check_data(task_config("iwslt14_de_en", f"task.remove_bpe={value}"), data_dir=str(data_dir))


def make_run(data_dir: Path, *overrides: str) -> BuiltRun:
    """The run's build (``experiments.assembly.build_run``), where averaging meets the calendar."""
    cfg = compose_config(
        "task=iwslt14_de_en", *TINY_MODEL, "schedule=constant", f"data_dir={data_dir}", *overrides
    )
    return build_run(cfg, World(), torch.device("cpu"))


def test_average_last_above_the_epoch_snapshots_of_the_budget_is_refused(data_dir: Path) -> None:
    budget = ("task.max_updates=null", "task.epochs=3")
    assert make_run(data_dir, *budget, "task.average.last=3").task.average.last == 3
    with pytest.raises(ConfigError) as refused:
        make_run(data_dir, *budget, "task.average.last=20")
    line = str(refused.value)
    assert line.startswith("task.average.last=20 is invalid"), line
    assert "takes 3 snapshots (one at each epoch end): at most 3" in line, line


def test_average_last_above_the_every_n_snapshots_of_the_budget_is_refused(
    data_dir: Path,
) -> None:
    budget = ("task.max_updates=12", "task.average.every=5")
    assert make_run(data_dir, *budget, "task.average.last=2").task.average.every == 5
    with pytest.raises(ConfigError) as refused:
        make_run(data_dir, *budget, "task.average.last=3")
    line = str(refused.value)
    assert "task.average.last=3" in line and "takes 2 snapshots (one every 5 updates)" in line
