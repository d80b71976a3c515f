"""Translation through ``python -m experiments.train`` on tiny corpora in the real formats: a few
steps of both recipes at the real architectures; the averaged model's metrics in
``summary.json`` against a hand average of the snapshots; SIGKILL and resume; two ranks on gloo
against one process accumulating two buckets per update; bad input on the command line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from data.sample_corpora import write_iwslt14, write_wmt16
from data.translation.corpus import load_corpus
from experiments.distributed import World
from experiments.runs.snapshots import snapshot_paths
from experiments.tasks.contract import Evaluation
from experiments.tasks.translation.task import build
from tests.experiments.cli import (
    Finished,
    Workspace,
    assert_same_run,
    assert_trains_like,
    read_metrics,
    read_summary,
    run_concurrently,
    train_env,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both corpora, binarized once here (the runs then map the cached arrays)."""
    root = tmp_path_factory.mktemp("data")
    write_iwslt14(root)
    write_wmt16(root)
    load_corpus("iwslt14", "de", "en", root)
    load_corpus("wmt16", "en", "de", root)
    return root


def tiny_run(data_dir: Path, *extra: str) -> tuple[str, ...]:
    """The recipe's smoke size, two epochs of a small Transformer (the loop's features; the real
    sizes are below)."""
    return (
        "task=iwslt14_de_en", "task/size=smoke", "optimizer=adamw_radam_paper",
        "schedule=constant", "optimizer.lr=1e-3", f"data_dir={data_dir}",
        "log_every=1", "checkpoint_every=4", "device=cpu", "deterministic=true", *extra,
    )  # fmt: skip


def real_size_run(task: str, data_dir: Path) -> tuple[str, ...]:
    """Two updates of a recipe at its real architecture (the tiny corpus's dictionaries)."""
    extra = {
        "iwslt14_de_en": ("optimizer=adamw_radam_paper",),
        "wmt16_en_de": ("optimizer=radam", "task.update_freq=2"),
    }[task]
    return (
        f"task={task}", *extra, "max_steps=2", "log_every=1", "task.max_tokens=128",
        "task.average=null", "task.generation.final.max_len_b=2", f"data_dir={data_dir}",
        "device=cpu", "task.accept_corpus=true",
    )  # fmt: skip


ACCUMULATING = ("task.update_freq=2", "task.model.dropout=0.0")
"""One process, two buckets per update, no dropout (so that two ranks can match it)."""
KILL_AT = "kill-after-step:6"


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict:
    """The runs the fast tests read, two at a time: the accumulating reference, the same run
    SIGKILLed after update 6, the IWSLT recipe at its real size, a beam of 0, and bf16 training."""
    root = tmp_path_factory.mktemp("launched")
    jobs = {
        "accumulated": (tiny_run(data_dir, *ACCUMULATING), {}),
        "killed": (tiny_run(data_dir, *ACCUMULATING), {"OPTREPRO_FAULT": KILL_AT}),
        "iwslt14_de_en": (real_size_run("iwslt14_de_en", data_dir), {}),
        "beam": (tiny_run(data_dir, "task.generation.beam=0"), {}),
        "bf16": (tiny_run(data_dir, *ACCUMULATING, "task.precision=bf16"), {}),
    }
    futures = run_concurrently(
        {
            name: lambda name=name, o=o, e=e: Workspace.create(root / name).run(o, train_env(**e))
            for name, (o, e) in jobs.items()
        }
    )
    return {name: future.result() for name, future in futures.items()} | {"root": root}


def check_real_size_run(done: Finished, task: str) -> None:
    assert done.returncode == 0, done.describe()
    summary = read_summary(done.run_dir)
    assert summary["status"] == "finished" and summary["steps"] == 2
    assert summary["throughput"]["unit"] == "tokens"
    config = OmegaConf.load(done.run_dir / "config.yaml")
    architecture = {
        "iwslt14_de_en": "transformer_iwslt_de_en",
        "wmt16_en_de": "transformer_wmt_en_de",
    }
    assert config.task.model._target_.endswith(architecture[task])  # the real sizes
    train = [e for e in read_metrics(done.run_dir) if "train/loss" in e]
    assert len(train) == 2 and all(math.isfinite(e["train/loss"]) for e in train)
    assert all(e["train/ppl"] == pytest.approx(math.exp(e["train/nll"])) for e in train)
    for key in ("val/loss", "test/loss", "test/bleu", "test/sacrebleu", "train/ppl"):
        assert math.isfinite(summary["final"][key]), key
    meta = (done.run_dir / "meta.json").read_text()
    assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp" in meta
    assert ("newstest2014" if task == "wmt16_en_de" else "tst2010") in meta
    assert "sacrebleu" in done.stdout


def test_the_iwslt_recipe_trains_a_few_steps_at_the_real_architecture(launched) -> None:
    check_real_size_run(launched["iwslt14_de_en"], "iwslt14_de_en")


@pytest.mark.slow
def test_the_wmt_recipe_trains_a_few_steps_at_the_real_architecture(
    tmp_path: Path, data_dir: Path
) -> None:
    done = Workspace.create(tmp_path).run(real_size_run("wmt16_en_de", data_dir))
    check_real_size_run(done, "wmt16_en_de")


def hand_average(paths: list[Path]) -> dict[str, torch.Tensor]:
    states = [torch.load(path, weights_only=True) for path in paths]
    return {
        name: (sum(state[name].double() for state in states) / len(states)).to(tensor.dtype)
        for name, tensor in states[0].items()
    }


@pytest.fixture(scope="module")
def accumulated(launched) -> Path:
    """The reference run: one process accumulating two buckets per update."""
    done = launched["accumulated"]
    assert done.returncode == 0, done.describe()
    return done.run_dir


def test_the_averaged_snapshots_are_evaluated_under_their_own_keys(
    accumulated: Path, data_dir: Path
) -> None:
    summary = read_summary(accumulated)
    final = summary["final"]
    for key in ("avg/val/loss", "avg/test/loss", "avg/test/bleu", "avg/test/sacrebleu"):
        assert math.isfinite(final[key]), key
    assert final["avg/val/loss"] != final["val/loss"]  # a different model than the last one
    assert summary["headline"] == {"metric": "avg/test/bleu", "mode": "max"}
    paths = snapshot_paths(accumulated)
    assert len(paths) == 2  # the last two epoch ends
    assert averaged_val_loss(accumulated, data_dir, "fp32") == pytest.approx(
        final["avg/val/loss"], rel=1e-6
    )


def averaged_val_loss(run_dir: Path, data_dir: Path, precision: str) -> float:
    """``val/loss`` of the hand average of the run's snapshots, evaluated under ``precision``."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    task = build(cfg.task, seed=cfg.seed, data_dir=str(data_dir), device=CPU, world=World())
    task.model.load_state_dict(hand_average(snapshot_paths(run_dir)))
    task.model.eval()
    evaluation = Evaluation(number=99, final=True, full=False)
    totals: dict[str, float] = {}
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    with torch.no_grad(), autocast:
        for batch in task.eval_batches("val", World()):
            for key, value in task.eval_step(task.model, batch, evaluation).items():
                totals[key] = totals.get(key, 0.0) + float(value)
    return task.eval_metrics("val", totals, evaluation)["val/loss"]


def test_a_bf16_trained_run_evaluates_in_fp32_by_default(launched, data_dir: Path) -> None:
    bf16, fp32 = launched["bf16"], launched["accumulated"]  # the same run but for precision
    assert bf16.returncode == 0, bf16.describe()
    config = OmegaConf.load(bf16.run_dir / "config.yaml").task
    assert (config.precision, config.eval_precision) == ("bf16", "fp32")
    first = [next(e for e in read_metrics(r.run_dir) if "train/loss" in e) for r in (bf16, fp32)]
    assert first[0]["train/loss"] != first[1]["train/loss"]  # training ran under bf16 autocast
    recorded = read_summary(bf16.run_dir)["final"]["avg/val/loss"]
    assert recorded == pytest.approx(averaged_val_loss(bf16.run_dir, data_dir, "fp32"), rel=1e-6)
    in_bf16 = averaged_val_loss(bf16.run_dir, data_dir, "bf16")
    assert recorded != pytest.approx(in_bf16, rel=1e-6)  # bf16 logits would have shown


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_metrics(
    launched, accumulated: Path, data_dir: Path
) -> None:
    dead = launched["killed"]
    assert dead.returncode == -9, dead.describe()
    saved = torch.load(dead.run_dir / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 4 and saved["loop"]["position"] > 0  # inside the first epoch
    resumed = Workspace.create(launched["root"] / "killed").run(tiny_run(data_dir, *ACCUMULATING))
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming" in resumed.stdout and resumed.run_dir == dead.run_dir
    assert_same_run(resumed.run_dir, accumulated)


@pytest.mark.slow
def test_two_ranks_equal_one_process_accumulating_two_buckets(
    tmp_path: Path, data_dir: Path, accumulated: Path
) -> None:
    workspace = Workspace.create(tmp_path)
    done = workspace.torchrun(tiny_run(data_dir, "task.model.dropout=0.0"))
    assert done.returncode == 0, done.describe()
    (run_dir,) = workspace.run_dirs()
    assert read_summary(run_dir)["world_size"] == 2
    assert_trains_like(run_dir, accumulated)


BAD_INPUT = {
    "missing": (),
    "pair": ("task.source_lang=fr",),
    "long": ("task.max_tokens=8", "task.long_pairs=raise"),
}
MESSAGES = {
    "beam": "task.generation.beam=0 is invalid",
    "missing": "python -m scripts.download_data iwslt14",
    "pair": "language pair 'fr'-'en' is unknown",
    "long": "more than max_tokens=8",
}


def check_refused(done: Finished, case: str, workspace_runs: list[Path]) -> None:
    assert done.returncode == 2, done.describe()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and MESSAGES[case] in lines[0] and "Traceback" not in done.stderr
    assert not workspace_runs


def test_a_beam_of_zero_is_refused_on_the_command_line(launched) -> None:
    done = launched["beam"]
    check_refused(done, "beam", [])
    assert done.run_dir is None


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing", "pair", "long"])
def test_bad_input_on_the_command_line_is_one_line_and_exit_2(
    tmp_path: Path, data_dir: Path, case: str
) -> None:
    """Each refusal is also a ConfigError test in test_translation_task.py (fast, in-process)."""
    workspace = Workspace.create(tmp_path)
    data = tmp_path / "nothing" if case == "missing" else data_dir
    done = workspace.run(tiny_run(data, *BAD_INPUT[case]))
    check_refused(done, case, workspace.run_dirs())
