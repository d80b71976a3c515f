"""``experiments.assembly.check_data``: a sweep's cheap check for missing data. Each recipe whose
dataset must be downloaded is refused with the builder's one line when ``data_dir`` is empty,
and passes, without preparing anything, when tiny files in the real formats are there."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from data.sample_corpora import write_iwslt14, write_ptb, write_release, write_wmt16
from experiments.assembly import build_task, check_data
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS
from tests.data.tiny_datasets import write_cifar, write_imagenet
from tests.runs_in_process import compose_config

RECIPES = ("cifar10_resnet20", "imagenet_resnet18", "ptb_lstm3", "lm1b_lstm", "iwslt14_de_en",
           "wmt16_en_de")  # fmt: skip


def composed(recipe: str, data_dir: Path) -> DictConfig:
    return compose_config(f"task={recipe}", f"data_dir={data_dir}")


@pytest.mark.parametrize("recipe", RECIPES)
def test_missing_data_is_the_builders_one_line(recipe: str, tmp_path: Path) -> None:
    cfg = composed(recipe, tmp_path)
    with pytest.raises(ConfigError) as checked:
        check_data(cfg)
    with pytest.raises(ConfigError) as built:
        build_task(cfg, torch.device("cpu"), SINGLE_PROCESS)
    assert str(checked.value) == str(built.value)
    assert "\n" not in str(checked.value) and str(tmp_path) in str(checked.value)


def test_present_data_passes_without_being_prepared(tmp_path: Path) -> None:
    write_cifar(tmp_path, per_file=2)
    write_imagenet(tmp_path, train_per_class=1, val_per_class=1)
    write_ptb(tmp_path, train=20, valid=5, test=5)
    write_release(tmp_path, train_shards=1, heldout_shards=1, per_shard=5)
    write_iwslt14(tmp_path)
    write_wmt16(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    for recipe in RECIPES:
        check_data(composed(recipe, tmp_path))
    assert sorted(tmp_path.rglob("*")) == before  # nothing binarized, cached or written


def test_a_task_without_a_data_check_passes(tmp_path: Path) -> None:
    check_data(composed("digits", tmp_path))
