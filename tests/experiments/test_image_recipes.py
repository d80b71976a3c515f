"""The image-classification recipes (configs/task/cifar10_*.yaml, imagenet_resnet18.yaml): each
composes with the paper's settings, and each runs 3 steps at its real input size through the
real command line on tiny data in the real on-disk formats."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from experiments.metric_direction import metric_mode
from optimizers.schedules import build_schedule
from tests.data.tiny_datasets import CIFAR_FOLDER, write_cifar, write_imagenet
from tests.experiments.cli import CONFIG_DIR, Workspace, read_metrics, read_summary
from tests.runs_in_process import InProcessRun, compose_config

# The papers' recipes (docs/papers.md §2–3), written out independently of the config files.
RECIPES = {
    "cifar10_resnet20": {
        "model": "experiments.models.cifar_resnet.resnet20",
        "batch_size": 128,
        "epochs": 164,
        "milestones": [81, 122],
        "weight_decay": 1e-4,
    },
    "imagenet_resnet18": {
        "model": "experiments.models.imagenet_resnet.resnet18",
        "batch_size": 256,
        "epochs": 90,
        "milestones": [31, 61],
        "weight_decay": 1e-4,
    },
    "cifar10_resnet34": {
        "model": "experiments.models.kuangliu_resnet.resnet34",
        "batch_size": 128,
        "epochs": 200,
        "milestones": [150],
        "weight_decay": 5e-4,
    },
    "cifar10_densenet121": {
        "model": "experiments.models.densenet.densenet121",
        "batch_size": 128,
        "epochs": 200,
        "milestones": [150],
        "weight_decay": 5e-4,
    },
    "cifar10_lenet5": {
        "model": "experiments.models.lenet5.lenet5",
        "batch_size": 32,
        "epochs": 50,
        "milestones": None,
        "weight_decay": 0.0,
    },
}


def composed(*overrides: str) -> DictConfig:
    return compose_config(*overrides)


def schedule_of(cfg: DictConfig):
    return build_schedule(
        OmegaConf.to_container(cfg.schedule, resolve=True),
        base_lr=cfg.optimizer.lr,
        steps_per_epoch=391,
        total_steps=391 * cfg.task.epochs,
        betas=cfg.optimizer.get("betas"),
    )


IMAGE_BUILDERS = ("experiments.tasks.cifar10.build", "experiments.tasks.imagenet.build")


def test_every_image_recipe_is_listed_here() -> None:
    """Every task config built by an image task module is one of the recipes tested here."""
    files = {
        path.stem
        for path in (CONFIG_DIR / "task").glob("*.yaml")
        if OmegaConf.load(path).task.build in IMAGE_BUILDERS
    }
    assert files == set(RECIPES)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_composes_with_the_papers_settings(name: str) -> None:
    expected = RECIPES[name]
    cfg = composed(f"task={name}")
    assert cfg.task.name == name
    assert cfg.task.model._target_ == expected["model"]
    assert cfg.task.batch_size == expected["batch_size"]
    assert cfg.task.epochs == expected["epochs"]
    assert cfg.task.headline == "test/acc" and metric_mode(cfg.task.headline) == "max"
    assert cfg.optimizer.weight_decay == pytest.approx(expected["weight_decay"])
    if expected["milestones"] is None:
        assert cfg.schedule.name == "constant"
    else:
        assert cfg.schedule.name == "multistep"
        assert list(cfg.schedule.milestones) == expected["milestones"]
        assert cfg.schedule.gamma == pytest.approx(0.1)
    schedule_of(cfg)  # the composed schedule is valid


def test_the_weight_decay_follows_the_chosen_preset() -> None:
    sgd = composed("task=cifar10_resnet20", "optimizer=sgd")
    radam = composed("task=cifar10_resnet20", "optimizer=radam")
    assert sgd.optimizer._target_ == "optimizers.SGD" and sgd.optimizer.weight_decay == 1e-4
    assert radam.optimizer.decoupled_weight_decay and radam.optimizer.weight_decay == 1e-4
    assert composed("task=cifar10_resnet34", "optimizer.weight_decay=0").optimizer.weight_decay == 0


def test_the_lenet5_recipe_is_keras_like() -> None:
    task = composed("task=cifar10_lenet5").task
    assert (task.val_size, task.val_split) == (5000, "tail")  # validation_split=0.1 of 50,000
    assert task.augment is False and task.normalization == "unit"


@pytest.mark.parametrize("name", ["cifar10_lenet5", "cifar10_resnet20"])
def test_a_schedule_on_the_command_line_wins(name: str) -> None:
    cfg = composed(f"task={name}", "schedule=plateau", "schedule.patience=5")
    assert cfg.schedule.name == "plateau" and cfg.schedule.patience == 5
    assert cfg.schedule.monitor == "val/loss"
    assert schedule_of(cfg).monitor == "val/loss"


@pytest.mark.parametrize("name", ["imagenet_resnet18", "cifar10_resnet34"])
def test_a_recipe_with_its_own_milestones_switches_schedule_cleanly(name: str) -> None:
    cfg = composed(f"task={name}", "schedule=cosine")
    assert cfg.schedule.name == "cosine" and "milestones" not in cfg.schedule
    schedule_of(cfg)


def test_missing_data_exits_2_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    workspace = Workspace.create(tmp_path)
    finished = workspace.run(["task=cifar10_resnet20", f"data_dir={empty}", "device=cpu"])
    assert finished.returncode == 2, finished.describe()
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert str(empty / CIFAR_FOLDER) in lines[0]
    assert f"python -m scripts.download_data cifar10 --data-dir {empty}" in lines[0]
    assert "Traceback" not in finished.stdout + finished.stderr
    assert workspace.run_dirs() == []


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_data")
    write_cifar(root, per_file=20)
    write_imagenet(root, train_per_class=2, val_per_class=1)
    return root


SMOKE = {
    "cifar10_resnet20": ["task.batch_size=8"],
    "cifar10_resnet34": ["task.batch_size=8"],
    "cifar10_densenet121": ["task.batch_size=8"],
    # 100 tiny training images: a 10-image tail validation split; the device pipeline on CPU.
    "cifar10_lenet5": ["task.batch_size=8", "task.val_size=10", "task.pipeline=device"],
    "imagenet_resnet18": ["task.batch_size=4"],
}
QUICK_SMOKE = {"cifar10_resnet20", "cifar10_lenet5"}


@pytest.mark.parametrize(  # the large models' three steps run in make test-all
    "name",
    [n if n in QUICK_SMOKE else pytest.param(n, marks=pytest.mark.slow) for n in sorted(SMOKE)],
)
def test_recipe_runs_three_steps_on_tiny_data(
    name: str, tiny_data: Path, run_in_process: Callable[..., InProcessRun]
) -> None:
    overrides = [
        f"task={name}",
        f"data_dir={tiny_data}",
        "device=cpu",
        "max_steps=3",
        "log_every=1",
        "task.eval_batch_size=8",
        *SMOKE[name],
    ]
    finished = run_in_process(*overrides)
    assert finished.returncode == 0 and finished.run_dir is not None
    summary = read_summary(finished.run_dir)
    assert summary["status"] == "finished" and summary["steps"] == 3
    assert summary["headline"] == {"metric": "test/acc", "mode": "max"}
    assert 0 <= summary["final"]["test/acc"] <= 100
    if name == "cifar10_lenet5":
        assert "val/loss" in summary["final"]
    losses = [
        event["train/loss"] for event in read_metrics(finished.run_dir) if "train/loss" in event
    ]
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    checksums = json.loads((finished.run_dir / "meta.json").read_text())["dataset_checksums"]
    if name.startswith("cifar10"):
        test_file = tiny_data / CIFAR_FOLDER / "test_batch"
        expected = hashlib.md5(test_file.read_bytes()).hexdigest()
        assert checksums[f"{CIFAR_FOLDER}/test_batch(md5)"] == expected
    else:
        assert set(checksums) == {
            "imagenet/train(file list sha256)",
            "imagenet/val(file list sha256)",
        }
