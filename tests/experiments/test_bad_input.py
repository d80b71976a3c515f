"""Bad input: each refusal is one line on stderr naming the key and the bad
value, exit code 2, no traceback, and no run directory marked finished. An unknown config group
option may keep Hydra's exit code if its message names the option and lists the available ones.
(A missing data path is tested with the image tasks.)

Every case is refused twice: by the command line (``python -m experiments.train <case>``, a
process each: one case of each kind in ``make test``, all of them in ``make test-all``) and by a
sweep of that case (``-m``), whose controller checks every job in its own process before any run
starts (all of them in ``make test``, in this process)."""

from __future__ import annotations

from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from experiments.cli import run_sweep
from tests.experiments.cli import (
    CONFIG_DIR,
    Finished,
    Workspace,
    read_summary,
    run_concurrently,
)


class Case(NamedTuple):
    override: str
    key: str  # what the one line must name
    value: str | None  # the bad value it must show (None: the key is the bad part)


CASES = {
    "lr-zero": Case("optimizer.lr=0", "optimizer.lr", "0"),
    "lr-negative": Case("optimizer.lr=-1", "optimizer.lr", "-1"),
    "beta-one": Case("optimizer.betas=[0.9,1.0]", "optimizer.betas", "1.0"),
    "beta-negative": Case("optimizer.betas=[-0.1,0.9]", "optimizer.betas", "-0.1"),
    "weight-decay-negative": Case("optimizer.weight_decay=-1", "optimizer.weight_decay", "-1"),
    "eps-negative": Case("optimizer.eps=-1", "optimizer.eps", "-1"),
    "checkpoint-every-zero": Case("checkpoint_every=0", "checkpoint_every", "0"),
    "max-steps-negative": Case("max_steps=-1", "max_steps", "-1"),
    "eval-every-negative": Case("eval_every=-1", "eval_every", "-1"),
    "keep-checkpoint-unknown": Case("keep_checkpoint=sometimes", "keep_checkpoint", "sometimes"),
    "device-unknown": Case("device=tpu", "device", "tpu"),
    "device-cuda-without-gpu": Case("device=cuda", "device", "cuda"),
    "unknown-key": Case("foo=1", "foo", None),
    "unknown-key-added": Case("+foo=1", "foo", None),
    "unknown-optimizer-keyword": Case("+optimizer.foo=1", "foo", None),
    "clip-grad-norm-negative": Case("task.clip_grad_norm=-1", "task.clip_grad_norm", "-1"),
    "update-freq-zero": Case("task.update_freq=0", "task.update_freq", "0"),
    "precision-unknown": Case("task.precision=fp16", "task.precision", "fp16"),
    "eval-precision-unknown": Case("task.eval_precision=fp8", "task.eval_precision", "fp8"),
    "monitor-not-a-split": Case("schedule=plateau", "schedule.monitor", "train/loss"),
    "task-build-not-importable": Case("task.build=nope.nowhere", "task.build", "nope.nowhere"),
    "task-build-wrong-signature": Case("task.build=os.path.join", "task.build", "os.path.join"),
    "task-build-not-a-task": Case("task.build=builtins.dict", "task.build", "dict"),
    "seed-not-a-number": Case("seed=abc", "seed", "abc"),
    "seed-negative": Case("seed=-1", "seed", "-1"),
    "seed-fraction": Case("seed=1.5", "seed", "1.5"),
    "batch-size-zero": Case("task.batch_size=0", "task.batch_size", "0"),
    "batch-size-negative": Case("task.batch_size=-3", "task.batch_size", "-3"),
    "epochs-zero": Case("task.epochs=0", "task.epochs", "0"),
    "lr-infinite": Case("optimizer.lr=inf", "optimizer.lr", "inf"),
    "number-expected": Case("optimizer.eps=abc", "optimizer.eps", "abc"),
    "custom-target-unknown": Case("optimizer._target_=nope.Nope", "nope.Nope", None),
    "group-option-typo": Case("optimizer=radamm", "radamm", "did you mean radam"),
    "schedule-option-typo": Case("schedule=cosinee", "cosinee", "did you mean cosine"),
    "sweep-outside-runs-dir": Case("sweep=..", "sweep", ".."),
    "lm-hidden-weights-unknown": Case(
        "task.model.hidden_weights=bogus", "task.model.hidden_weights", "frozen, trained"
    ),
    "lm-dropout-above-one": Case("task.model.dropout=1.5", "task.model.dropout", "1.5"),
    "lm-weight-drop-above-one": Case("task.model.weight_drop=2", "task.model.weight_drop", "2"),
    "lm-layers-zero": Case("task.model.layers=0", "task.model.layers", "0"),
    "lm1b-layers-negative": Case("task.model.layers=-2", "task.model.layers", "-2"),
    "nmt-dropout-above-one": Case("task.model.dropout=2", "task.model.dropout", "2"),
    "nmt-remove-bpe-number": Case("task.remove_bpe=12", "task.remove_bpe", "12"),
    "nmt-max-len-b-negative": Case(
        "task.generation.final.max_len_b=-1", "task.generation.final.max_len_b", "-1"
    ),
}
ON_THE_COMMAND_LINE = {
    "lr-zero",  # a value out of range
    "seed-not-a-number",  # a value of the wrong type
    "unknown-optimizer-keyword",  # an unknown key
    "task-build-not-importable",  # checked when the task would be built
    "group-option-typo",  # a config group option
    "sweep-outside-runs-dir",  # a path outside runs_dir
}
"""The cases that also run as a process in ``make test``: one of each kind."""

QUICK = {"max_steps": "max_steps=3", "device": "device=cpu"}
"""Added to every case (unless it sets that key): a wrongly accepted case ends in seconds."""


EXTRA = {
    "monitor-not-a-split": ("schedule.monitor=train/loss",),
    "custom-target-unknown": ("optimizer=custom",),
    "lm-hidden-weights-unknown": ("task=ptb_lstm1",),
    "lm-dropout-above-one": ("task=ptb_lstm2",),
    "lm-weight-drop-above-one": ("task=ptb_lstm3",),
    "lm-layers-zero": ("task=ptb_lstm1",),
    "lm1b-layers-negative": ("task=lm1b_lstm",),
    "nmt-dropout-above-one": ("task=iwslt14_de_en",),
    "nmt-remove-bpe-number": ("task=iwslt14_en_de",),
    "nmt-max-len-b-negative": ("task=wmt16_en_de",),
}
"""More overrides a case needs (a plateau schedule watching a split the task has not; the
recipe whose model key a case sets: its keys are refused before its data is looked for, so
these cases need no corpus)."""


def overrides_of(name: str, case: Case) -> tuple[str, ...]:
    key = case.override.lstrip("+").split("=")[0]
    quick = (value for key_, value in QUICK.items() if key_ != key)
    return (*quick, case.override, *EXTRA.get(name, ()))


def unwritable_runs_dir(root: Path) -> Workspace:
    """A ``runs_dir`` below a regular file: it cannot be created, even by root."""
    workspace = Workspace.create(root)
    blocker = root / "afile"
    blocker.write_text("not a directory\n")
    return Workspace(cwd=workspace.cwd, runs_dir=blocker / "runs")


def command_line_case(name: str) -> object:
    return name if name in ON_THE_COMMAND_LINE else pytest.param(name, marks=pytest.mark.slow)


def selected_cases(request: pytest.FixtureRequest) -> set[str]:
    """The cases whose command-line test this session runs (``-m "not slow"`` leaves most out)."""
    return {
        item.callspec.params["name"]
        for item in request.session.items
        if item.originalname == "test_bad_input_is_refused_in_one_line"
    }


@pytest.fixture(scope="module")
def refusals(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future]:
    """Every selected case launched once, four at a time."""
    selected = selected_cases(request)

    def launch(workspace: Workspace, overrides: tuple[str, ...]) -> tuple[Workspace, Finished]:
        return workspace, workspace.run(overrides)

    jobs = {
        name: partial(
            launch, Workspace.create(tmp_path_factory.mktemp(name)), overrides_of(name, case)
        )
        for name, case in CASES.items()
        if name in selected
        and not (name == "device-cuda-without-gpu" and torch.cuda.is_available())
    }
    jobs["runs-dir-unwritable"] = partial(
        launch, unwritable_runs_dir(tmp_path_factory.mktemp("unwritable")), tuple(QUICK.values())
    )
    jobs["unknown-optimizer-preset"] = partial(
        launch, Workspace.create(tmp_path_factory.mktemp("nope")), ("optimizer=nope", "max_steps=3")
    )
    return run_concurrently(jobs, workers=4)  # mostly start-up: four at a time on two cores


def assert_refused(workspace: Workspace, result: Finished, key: str, value: str | None) -> None:
    assert result.returncode == 2, result.describe()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.describe()
    assert key in lines[0], result.describe()
    if value is not None:
        assert value in lines[0], result.describe()
    assert "Traceback" not in result.stdout + result.stderr
    assert_nothing_marked_finished(workspace)
    assert workspace.run_dirs() == [], "bad input is refused before a run directory is made"


def assert_nothing_marked_finished(workspace: Workspace) -> None:
    if workspace.runs_dir.is_dir():
        for summary in workspace.runs_dir.rglob("summary.json"):
            assert read_summary(summary.parent)["status"] not in {"finished", "diverged"}
    assert list(workspace.cwd.iterdir()) == []


@pytest.mark.parametrize("name", [command_line_case(name) for name in CASES])
def test_bad_input_is_refused_in_one_line(refusals: dict[str, Future], name: str) -> None:
    if name == "device-cuda-without-gpu" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    workspace, result = refusals[name].result()
    case = CASES[name]
    assert_refused(workspace, result, case.key, case.value)


REFUSED_BY_THE_RUN = {"monitor-not-a-split"}
"""Cases a sweep cannot see before the task is built (which splits a task evaluates): the
sweep launches the run, which refuses it, and the sweep reports it refused (exit 2)."""


def written(runs_dir: Path) -> list[Path]:
    """What a refused sweep left under ``runs_dir`` (checking that it is writable may create it)."""
    return list(runs_dir.rglob("*")) if runs_dir.is_dir() else []


@pytest.mark.slow
def test_a_sweep_of_each_bad_input_is_refused_before_any_run_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m experiments.train -m <case>`` as its entry point runs it (``run_sweep``):
    exit 2, the case's key and value named, nothing written under ``runs_dir`` (no run
    launched) unless only the built task can tell."""
    wrong = []
    for name, case in CASES.items():
        if name == "device-cuda-without-gpu" and torch.cuda.is_available():
            continue
        runs_dir = tmp_path / name / "runs"
        code = run_sweep(["-m", *overrides_of(name, case), f"runs_dir={runs_dir}"])
        captured = capsys.readouterr()
        said = captured.out + captured.err  # a run's refusal is in the sweep's report
        named = case.key in said and (case.value is None or case.value in said)
        launched = name in REFUSED_BY_THE_RUN  # its job log stays under runs_dir
        refused = code == 2 and named and "Traceback" not in said
        if not refused or launched != bool(written(runs_dir)):
            wrong.append(f"{name}: exit {code}\n{captured.out}{captured.err}")
    assert not wrong, "\n".join(wrong)


def test_a_runs_dir_that_cannot_be_created_is_refused(refusals: dict[str, Future]) -> None:
    workspace, result = refusals["runs-dir-unwritable"].result()
    assert_refused(workspace, result, "runs_dir", str(workspace.runs_dir))
    assert not workspace.runs_dir.exists()


def test_an_unknown_optimizer_preset_names_it_and_lists_the_presets(
    refusals: dict[str, Future],
) -> None:
    workspace, result = refusals["unknown-optimizer-preset"].result()
    line = assert_refused_line(workspace, result, "nope")
    presets = sorted(path.stem for path in (CONFIG_DIR / "optimizer").glob("*.yaml"))
    assert presets
    listed = line.split("options: ", 1)[1].split(", ")
    missing = [preset for preset in presets if preset not in listed]
    assert not missing, f"presets not listed: {missing}\n{result.describe()}"


def assert_refused_line(workspace: Workspace, result: Finished, key: str) -> str:
    assert_refused(workspace, result, key, None)
    return result.stderr.strip()
