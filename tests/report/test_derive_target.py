"""``python -m scripts.derive_target``: a task's target from real digits runs, as AlgoPerf
derives its targets (the median over seeds of each reference setting's best validation value,
the best of those medians)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from scripts.derive_target import main
from tests.runs_in_process import run_in_process

SHORT = ("max_steps=10", "eval_every=5", "device=cpu")
RUNS = [("adam", seed) for seed in (1, 2, 3)] + [("sgd", seed) for seed in (1, 2)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("targets") / "runs"
    for optimizer, seed in RUNS:
        assert (
            run_in_process(root, (*SHORT, f"optimizer={optimizer}", f"seed={seed}")).returncode == 0
        )
    return root


def best(runs: Path, optimizer: str, metric: str) -> list[float]:
    paths = sorted(runs.glob(f"single/digits/{optimizer}/*/seed=*/summary.json"))
    return [json.loads(path.read_text())["best"][metric]["value"] for path in paths]


@pytest.mark.parametrize(("metric", "pick"), [("val/acc", max), ("val/loss", min)])
def test_the_target_is_the_best_reference_median(
    runs: Path, capsys: pytest.CaptureFixture[str], metric: str, pick: object
) -> None:
    medians = {opt: statistics.median(best(runs, opt, metric)) for opt in ("adam", "sgd")}
    assert len(best(runs, "adam", metric)) == 3 and len(best(runs, "sgd", metric)) == 2
    expected = pick(medians.values())  # type: ignore[operator]
    code = main(["--runs", str(runs), "--task", "digits", "--reference", "adam",
                 "--reference", "sgd", "--metric", metric])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert f"target of digits: {metric} {expected:.6g}" in out[-2]
    assert out[-1].startswith(f"  target: {{metric: {metric}, value: {expected:.6g}, source: ")
    adam = "adam eval_every=5,max_steps=10: median"
    assert any(line.startswith(adam) and line.endswith("over 3 run(s)") for line in out)


def test_the_default_metric_is_the_objective_and_one_reference_counts_alone(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--runs", str(runs), "--task", "digits", "--reference", "sgd"]) == 0
    expected = statistics.median(best(runs, "sgd", "val/acc"))
    assert f"target of digits: val/acc {expected:.6g} (sgd, 2 runs)" in capsys.readouterr().out


def test_no_reference_runs_is_one_line_and_exit_2(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--runs", str(runs), "--task", "digits", "--reference", "radam"]) == 2
    assert main(["--runs", str(tmp_path / "none"), "--task", "digits", "--reference", "adam"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
