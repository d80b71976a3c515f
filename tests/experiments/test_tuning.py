"""Tuning through Hydra's Optuna sweeper and the suite's launcher: each trial is a normal run
directory whose objective (best ``val/<headline>``) goes back to the sweeper in the task's
direction, the same command proposes the same trials (a fixed sampler seed), a relaunch replays
them from their records without training, and Hydra's sweep output lands beside the runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from experiments.cli import run_sweep
from experiments.config_checks import ConfigError
from experiments.sweeps.checks import check_validation_split
from experiments.sweeps.objective import direction, objective_metric, run_objective, worst
from tests.runs_in_process import compose_config

TUNE = (
    "hydra/sweeper=optuna",
    "hydra.sweeper.n_trials=3",
    "hydra.sweeper.n_jobs=2",
    "optimizer.lr=tag(log, interval(1e-4, 1e-1))",
    "task=digits",
    "optimizer=radam",
    "max_steps=12",
    "eval_every=6",
    "log_every=6",
    "launcher=inline",
    "device=cpu",
)


def trials(runs_dir: Path) -> dict[str, dict]:
    """``{optimizer.lr: summary}`` of every run of the study."""
    found = {}
    for path in sorted(runs_dir.rglob("summary.json")):
        summary = json.loads(path.read_text())
        found[summary["overrides"]["optimizer.lr"]] = summary
    return found


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs_dir = tmp_path_factory.mktemp("tune") / "runs"
    assert run_sweep(["-m", *TUNE, f"runs_dir={runs_dir}", "sweep=tune"]) == 0
    return runs_dir


def test_each_trial_is_a_run_directory_and_the_best_goes_to_the_sweep_output(study: Path) -> None:
    found = trials(study)
    assert len(found) == 3 and all(s["status"] == "finished" for s in found.values())
    assert all(path.parts[-5:-2] == ("tune", "digits", "radam") for path in study.rglob("seed=1"))
    results = yaml.safe_load((study / "tune" / "optimization_results.yaml").read_text())
    values = {lr: s["best"]["val/acc"]["value"] for lr, s in found.items()}
    assert results["best_value"] == max(values.values())  # val/acc: maximized for the user
    assert float(values[str(results["best_params"]["optimizer.lr"])]) == results["best_value"]


def test_a_relaunch_replays_the_same_trials_from_their_records(study: Path, capsys) -> None:
    before = {path: path.stat().st_mtime_ns for path in study.rglob("summary.json")}
    first = (study / "tune" / "optimization_results.yaml").read_text()
    assert run_sweep(["-m", *TUNE, f"runs_dir={study}", "sweep=tune"]) == 0
    said = capsys.readouterr().out
    assert "3 skipped (already finished)" in said
    assert {path: path.stat().st_mtime_ns for path in study.rglob("summary.json")} == before
    assert (study / "tune" / "optimization_results.yaml").read_text() == first


def test_the_same_command_elsewhere_proposes_the_same_trials(study: Path, tmp_path: Path) -> None:
    assert run_sweep(["-m", *TUNE, f"runs_dir={tmp_path}", "sweep=tune"]) == 0
    assert sorted(trials(tmp_path)) == sorted(trials(study))


@pytest.mark.parametrize(
    ("extra", "named"),
    [((), "sweep=<name>"), (("sweep=t", "launcher=slurm", "launcher.wait=false"), "wait=false")],
)
def test_a_tuning_sweep_needs_a_name_and_waits_for_its_runs(
    extra: tuple[str, ...], named: str, tmp_path: Path, capsys
) -> None:
    code = run_sweep(["-m", *TUNE, f"runs_dir={tmp_path}", *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and named in err, err
    assert not tmp_path.exists() or not any(tmp_path.rglob("*.json"))


@pytest.mark.parametrize(
    ("task", "key"), [("cifar10_resnet20", "task.val_size"), ("digits", "task.val_fraction")]
)
def test_a_task_without_a_validation_split_is_refused_for_tuning(task: str, key: str) -> None:
    cfg = compose_config(f"task={task}", *([f"{key}=0"] if task == "digits" else []))
    with pytest.raises(ConfigError, match=rf"{key}=0.*carve one out, e\.g\. {key}="):
        check_validation_split(cfg.task)
    if task == "digits":
        check_validation_split(compose_config("task=digits").task)  # the default has one


def test_the_objective_is_the_best_validation_headline_and_failures_are_the_worst() -> None:
    assert objective_metric("test/acc") == "val/acc" and direction("val/acc") == "maximize"
    assert objective_metric("avg/test/bleu") == "val/bleu"
    assert objective_metric("test/ppl") == "val/ppl" and direction("val/ppl") == "minimize"
    finished = {
        "status": "finished",
        "headline": {"metric": "test/ppl", "mode": "min"},
        "best": {"val/ppl": {"value": 81.5, "step": 10, "epoch": 1.0}},
    }
    assert run_objective(finished) == 81.5
    for status in ("diverged", "failed", "interrupted"):
        assert run_objective({**finished, "status": status}) == math.inf == worst("val/ppl")
    no_validation = {**finished, "best": {"test/ppl": {"value": 80.0}}}
    assert run_objective(no_validation) == math.inf
    nan = {**finished, "best": {"val/ppl": {"value": float("nan")}}}
    assert run_objective(nan) == math.inf  # never NaN: Optuna's sweeper crashes on it
    accuracy = {**finished, "headline": {"metric": "test/acc"}, "status": "diverged"}
    assert run_objective(accuracy) == -math.inf
    assert run_objective(None) is None


def test_the_callback_gives_a_tuner_the_task_direction_and_a_sampler_seed() -> None:
    from experiments.sweeps.callback import SweepCallback

    config = compose_config("hydra/sweeper=optuna", "task=ptb_lstm1", return_hydra_config=True)
    assert OmegaConf.select(config, "hydra.sweeper.sampler.seed") is None
    SweepCallback().on_multirun_start(config)
    assert config.hydra.sweeper.direction == "minimize"  # val/ppl
    assert config.hydra.sweeper.sampler.seed == 0
    given = compose_config(
        "hydra/sweeper=optuna",
        "hydra.sweeper.direction=maximize",
        "hydra.sweeper.sampler.seed=7",
        "task=ptb_lstm1",
        return_hydra_config=True,
    )
    SweepCallback().on_multirun_start(given)
    assert given.hydra.sweeper.direction == "maximize" and given.hydra.sweeper.sampler.seed == 7
