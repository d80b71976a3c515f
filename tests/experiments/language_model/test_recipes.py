"""The language-model recipes (configs/task/lm1b_lstm.yaml, ptb_lstm{1,2,3}.yaml): each composes
with the papers' settings (written out here, independently of the files), each trains a few steps
through the real command line on tiny corpora in the real on-disk formats, and every bad input is
one line naming the key or path, exit 2, no run directory."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
import torch

from data.sample_corpora import sentences
from experiments.distributed import SINGLE_PROCESS
from experiments.runs.prepare import prepare
from experiments.sweeps.plan import gpu_hours_per_run
from tests.data.lm.corpora import write_parquet
from tests.experiments.cli import Workspace, read_metrics, read_summary, run_concurrently
from tests.experiments.language_model.lm_configs import (
    TINY_LM1B,
    TINY_PTB,
    composed,
    write_corpora,
)
from tests.runs_in_process import run_in_process

# RAdam language-model/train_1bw.py + recipes.md; AdaBelief PyTorch_Experiments/LSTM main.py +
# run_all_layer{1,2,3}.py.
LM1B = {
    "build": "experiments.tasks.language_model.lm1b.build",
    "model": {"embed_dim": 300, "hidden_size": 2048, "layers": 2, "dropout": 0.1,
              "cutoffs": [4000, 40000, 200000]},
    "batch_size": 128, "bptt": 20, "epochs": 14, "milestones": [9], "clip_grad_norm": 5.0,
    "threshold": 3, "protocol": "radam_code", "eval_batch_size": 1, "eval_bptt": 128,
}  # fmt: skip
PTB = {
    "build": "experiments.tasks.language_model.ptb.build",
    "model": {"embed_dim": 400, "hidden_size": 1150, "dropout": 0.4, "dropout_hidden": 0.25,
              "dropout_input": 0.4, "dropout_embedding": 0.1, "weight_drop": 0.5,
              "tie_weights": True, "ar_alpha": 2.0, "tar_beta": 1.0, "hidden_weights": "frozen"},
    "batch_size": 20, "bptt": 70, "epochs": 200, "milestones": [100, 145], "clip_grad_norm": 0.25,
    "val_batch_size": 10, "test_batch_size": 1, "selection": "test/ppl",
}  # fmt: skip
RECIPES = {"lm1b_lstm": LM1B, **{f"ptb_lstm{layers}": PTB for layers in (1, 2, 3)}}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_composes_with_the_papers_settings(name: str) -> None:
    cfg = composed(f"task={name}")
    task, expected = cfg.task, RECIPES[name]
    assert task.name == name and task.headline == "test/ppl"
    for key, value in expected.items():
        if key == "model":
            assert {k: task.model[k] for k in value} == value
        else:
            assert task[key] == value, key
    if name.startswith("ptb"):
        assert task.model.layers == int(name[-1])
        assert cfg.optimizer.weight_decay == pytest.approx(1.2e-6)
    else:
        assert cfg.optimizer.weight_decay == 0.0 and cfg.optimizer._target_ == "optimizers.Adam"
    assert cfg.schedule.name == "multistep" and cfg.schedule.gamma == pytest.approx(0.1)
    assert list(cfg.schedule.milestones) == expected["milestones"]
    low, high = gpu_hours_per_run(name)
    assert 0 < low <= high


def test_nt_asgd_monitors_the_protocol_s_split() -> None:
    rerun = composed("task=ptb_lstm2", "optimizer=ntasgd_adabelief")
    assert rerun.optimizer.monitor == "test/ppl" and rerun.optimizer.evaluate_averaged is False
    proper = composed("task=ptb_lstm2", "optimizer=ntasgd", "task.selection=val/ppl")
    assert proper.optimizer.monitor == "val/ppl" and proper.optimizer.evaluate_averaged is True


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("corpora"))


SMOKE = {
    "lm1b_lstm": ("task=lm1b_lstm", "optimizer=radam", *TINY_LM1B),
    "ptb": ("-m", "launcher=inline", "task=ptb_lstm1,ptb_lstm2,ptb_lstm3", "optimizer=amsbound",
            "optimizer.lr=0.01", "optimizer.final_lr=30", *(f"++{o}" for o in TINY_PTB)),
}  # fmt: skip
"""Two interpreters: One Billion Word alone, and the three PTB recipes as one inline sweep (its
master config is the default task's, hence ``++`` on the PTB keys)."""
STEPS = 6


def smoke(name: str, data_dir: Path, root: Path) -> dict[str, Path]:
    """The sweep (``-m``) as a real process; the single run in this process (``run_one``)."""
    overrides = [f"data_dir={data_dir}", "device=cpu", f"max_steps={STEPS}", "log_every=2",
                 *SMOKE[name]]  # fmt: skip
    if "-m" in overrides:
        workspace = Workspace.create(root)
        finished = workspace.run(overrides)
        assert finished.returncode == 0, finished.describe()
        found = workspace.run_dirs()
    else:
        here = run_in_process(root / "runs", overrides)
        assert here.returncode == 0 and here.run_dir is not None
        found = [here.run_dir]
    return {read_summary(path)["task"]: path for path in found}


@pytest.fixture(scope="module")
def smoke_runs(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    jobs = {name: partial(smoke, name, data_dir, tmp_path_factory.mktemp(name)) for name in SMOKE}
    sweeps = {name: job for name, job in jobs.items() if "-m" in SMOKE[name]}
    single = {name: job for name, job in jobs.items() if "-m" not in SMOKE[name]}
    done = run_concurrently(sweeps, workers=1, in_this_thread=single).values()
    return {task: path for job in done for task, path in job.result().items()}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_trains_a_few_steps_on_tiny_data(name: str, smoke_runs: dict[str, Path]) -> None:
    run_dir = smoke_runs[name]
    summary = read_summary(run_dir)
    assert summary["status"] == "finished" and summary["steps"] == STEPS
    assert summary["headline"] == {"metric": "test/ppl", "mode": "min"}
    final = summary["final"]
    assert final["test/ppl"] == pytest.approx(math.exp(final["test/loss"]))
    assert summary["throughput"]["unit"] == "tokens"
    trained = [event for event in read_metrics(run_dir) if "train/loss" in event]
    assert len(trained) == STEPS // 2
    assert all(e["train/ppl"] > 1 and math.isfinite(e["train/loss"]) for e in trained)
    checksums = (run_dir / "meta.json").read_text()
    if name == "lm1b_lstm":
        assert "lm1b/vocab.json(threshold=3)" in checksums and "lm1b/r13" in checksums
        assert set(final) == {"test/loss", "test/ppl"}  # radam_code: no validation split
    else:
        assert "ptb/ptb.train.txt" in checksums
        assert {"val/ppl", "test/ppl"} <= set(final)
    assert summary["at_best"]["metric"] == "test/ppl"  # no val (lm1b), the rerun's (PTB)


BAD_INPUT = {
    "threshold-zero": (["task=lm1b_lstm", "task.threshold=0"], "task.threshold=0"),
    "bptt-zero": (["task=lm1b_lstm", "task.bptt=0"], "task.bptt=0"),
    "batch-negative": (["task=ptb_lstm1", "task.batch_size=-1"], "task.batch_size=-1"),
    "ptb-bptt-negative": (["task=ptb_lstm2", "task.bptt=-3"], "task.bptt=-3"),
    "selection": (["task=ptb_lstm1", "task.selection=train/ppl"], "task.selection='train/ppl'"),
    "lm1b-missing": (["task=lm1b_lstm"], "scripts.download_data lm1b"),
    "ptb-missing": (["task=ptb_lstm3"], "scripts.download_data ptb"),
    "lm1b-no-files": (["task=lm1b_lstm"], "training-monolingual.tokenized.shuffled has no"),
    "benchmark-on-parquet": (
        ["task=lm1b_lstm", "task.source=parquet", "task.protocol=benchmark", *TINY_LM1B],
        "task.protocol=benchmark needs",
    ),  # fmt: skip
    "cutoffs-too-large": (
        ["task=lm1b_lstm", "task.model.hidden_size=64", "task.accept_corpus=true"],
        "task.model.cutoffs",
    ),
}
THROUGH_THE_COMMAND_LINE = ("lm1b-missing",)
"""One case runs as a real subprocess (exit code 2, one line on stderr, no traceback); the others
go through the same ``prepare`` in this process (what the entry point calls, then exits 2)."""


def bad_data_dir(case: str, root: Path, corpora: Path) -> Path:
    if case == "cutoffs-too-large":
        return corpora
    data_dir = root / "data"
    data_dir.mkdir()
    if case == "lm1b-no-files":
        (data_dir / "1-billion-word-language-modeling-benchmark-r13output"
         / "training-monolingual.tokenized.shuffled").mkdir(parents=True)  # fmt: skip
    if case == "benchmark-on-parquet":
        write_parquet(data_dir, sentences(60, seed=1), sentences(20, seed=2))
    return data_dir


def refuse(case: str, root: Path, corpora: Path):  # noqa: ANN201
    overrides, _ = BAD_INPUT[case]
    data_dir = bad_data_dir(case, root, corpora)
    workspace = Workspace.create(root)
    finished = workspace.run([*overrides, f"data_dir={data_dir}", "device=cpu"])
    return finished, workspace.run_dirs(), data_dir


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict:
    jobs = {case: partial(refuse, case, tmp_path_factory.mktemp(case), data_dir)
            for case in THROUGH_THE_COMMAND_LINE}  # fmt: skip
    return run_concurrently(jobs)


@pytest.mark.parametrize("case", THROUGH_THE_COMMAND_LINE)
def test_bad_input_on_the_command_line_is_one_line_and_exit_2(case: str, refusals: dict) -> None:
    finished, run_dirs, data_dir = refusals[case].result()
    assert finished.returncode == 2, finished.describe()
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and BAD_INPUT[case][1] in lines[0], finished.stderr
    if case.endswith("missing"):
        assert str(data_dir) in lines[0]
    assert "Traceback" not in finished.stdout + finished.stderr
    assert run_dirs == []


@pytest.mark.parametrize("case", sorted(set(BAD_INPUT) - set(THROUGH_THE_COMMAND_LINE)))
def test_bad_input_is_refused_before_anything_is_written(
    case: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    overrides, expected = BAD_INPUT[case]
    chosen = bad_data_dir(case, tmp_path, data_dir)
    overrides = [*overrides, f"data_dir={chosen}", f"runs_dir={tmp_path / 'runs'}", "device=cpu"]
    cfg = composed(*overrides)
    choices = {"task": cfg.task.name, "optimizer": "adam"}
    code = prepare(cfg, overrides, choices, SINGLE_PROCESS, torch.device("cpu"))
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    if case.endswith("missing") or case == "lm1b-no-files":
        assert str(chosen) in lines[0]
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("config.yaml"))
