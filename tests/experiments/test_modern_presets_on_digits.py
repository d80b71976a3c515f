"""The modern baselines on the real ``digits`` data: each new preset lowers the validation loss,
a run killed with SIGKILL resumes exactly (Muon and Schedule-Free here; the others in
``make test-all``), and Schedule-Free's BatchNorm recomputation changes the statistics an
evaluation sees without changing training."""

from __future__ import annotations

import copy
import itertools
import signal
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from experiments.assembly import build_run
from experiments.distributed import World
from experiments.loop_evaluation import evaluated_weights, refreshes_batchnorm
from tests.experiments.cli import (
    REPO_ROOT,
    Workspace,
    assert_same_run,
    read_metrics,
    read_summary,
    train_env,
)
from tests.runs_in_process import InProcessRun

NEW_PRESETS = (
    "torch_adamw", "nadam", "adafactor", "muon", "lion", "soap", "adopt", "schedulefree_adamw",
)  # fmt: skip
BATCHNORM_MODEL = f"task.model._target_={__name__}.DigitsBatchNormCNN"


class DigitsBatchNormCNN(nn.Module):
    """A small digits CNN with BatchNorm (the suite's BN models need 32×32 CIFAR images)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@pytest.mark.parametrize("preset", NEW_PRESETS)
def test_new_preset_lowers_the_validation_loss(
    preset: str, run_in_process: Callable[..., InProcessRun]
) -> None:
    finished = run_in_process(
        f"optimizer={preset}", "max_steps=40", "eval_every=10", "log_every=10", "device=cpu"
    )
    assert finished.returncode == 0 and finished.run_dir is not None
    assert read_summary(finished.run_dir)["status"] == "finished"
    losses = [e["val/loss"] for e in read_metrics(finished.run_dir) if "val/loss" in e]
    assert len(losses) == 4 and losses[-1] < losses[0], losses


RESUMED = ("task.epochs=2", "log_every=1", "eval_every=25", "checkpoint_every=15",
           "device=cpu", "deterministic=true")  # fmt: skip
"""80 updates, evaluations at 25, 50, 75 and 80, checkpoints every 15: a kill at 52 resumes
from 45 and redoes the evaluation at 50."""
KILLED = {
    "muon": ("optimizer=muon", "schedule=cosine"),
    "schedulefree_adamw": ("optimizer=schedulefree_adamw", BATCHNORM_MODEL),
}
SLOW_KILLED = {preset: (f"optimizer={preset}",) for preset in NEW_PRESETS if preset not in KILLED}


def kill_and_resume(root: Path, overrides: tuple[str, ...]) -> Path:
    """The run killed by SIGKILL after update 52, then the same command again."""
    workspace = Workspace.create(root)
    env = {"PYTHONPATH": str(REPO_ROOT)}  # the BatchNorm model lives in this test module
    killed = workspace.run(overrides, env=train_env(OPTREPRO_FAULT="kill-after-step:52", **env))
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    resumed = workspace.run(overrides, env=train_env(**env))
    assert resumed.returncode == 0, resumed.describe()
    assert resumed.run_dir == killed.run_dir and resumed.run_dir is not None
    return resumed.run_dir


@pytest.mark.parametrize(
    "preset",
    [*KILLED, *(pytest.param(p, marks=pytest.mark.slow) for p in SLOW_KILLED)],
)
def test_a_killed_run_resumes_exactly(
    preset: str, tmp_path: Path, reference_run: Callable[..., Path]
) -> None:
    overrides = (*RESUMED, *KILLED.get(preset, SLOW_KILLED.get(preset, ())))
    resumed = kill_and_resume(tmp_path, overrides)
    assert_same_run(resumed, reference_run(overrides))


def built_run(compose: Callable[..., object]) -> types.SimpleNamespace:
    """The Schedule-Free run of the BatchNorm model, built as a run builds it, after 30 updates."""
    cfg = compose("optimizer=schedulefree_adamw", BATCHNORM_MODEL, "device=cpu")
    device = torch.device("cpu")
    torch.manual_seed(0)
    built = build_run(cfg, World(), device)
    run = types.SimpleNamespace(**vars(built), device=device)
    for index, batch in enumerate(built.task.train_batches(0, 0, World())):
        if index == 30:
            break
        loss, _ = built.task.train_step(built.model, batch)
        (loss / batch.units).backward()
        built.optimizer.step()
        built.optimizer.zero_grad(set_to_none=True)
    return run


def test_batchnorm_statistics_are_recomputed_at_x_and_put_back(
    compose: Callable[..., object],
) -> None:
    run = built_run(compose)
    model, optimizer = run.model, run.optimizer
    assert refreshes_batchnorm(run)
    norm = model.features[1]
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    with evaluated_weights(run, World()):
        inside = {k: v.clone() for k, v in model.state_dict().items()}
        reference = copy.deepcopy(model)  # torch's own recomputation (SWA's update_bn) at x
        inputs = [b.inputs for b in itertools.islice(run.task.train_batches(0, 0, World()), 50)]
        torch.optim.swa_utils.update_bn(inputs, reference)
        with torch.no_grad():  # x itself, as the package computes it: y lerped towards z
            z = optimizer.state[norm.weight]["z"]
            beta1 = optimizer.param_groups[0]["betas"][0]
            x_weight = trained["features.1.weight"].lerp(z, 1 - 1 / beta1)
    assert torch.allclose(inside["features.1.weight"], x_weight)
    for key in ("features.1.running_mean", "features.1.running_var"):
        assert not torch.equal(inside[key], trained[key]), key
        torch.testing.assert_close(inside[key], reference.state_dict()[key])
    for key, value in model.state_dict().items():  # parameters and statistics back exactly
        assert torch.equal(value, trained[key]), key
    assert torch.equal(torch.get_rng_state(), rng)
    assert norm.momentum == 0.1 and model.training


def test_without_batchnorm_nothing_is_recomputed(compose: Callable[..., object]) -> None:
    cfg = compose("optimizer=schedulefree_adamw", "device=cpu")
    built = build_run(cfg, World(), torch.device("cpu"))
    assert not refreshes_batchnorm(types.SimpleNamespace(**vars(built)))
