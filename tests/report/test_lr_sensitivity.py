"""Learning-rate sensitivity and RAdam's robustness claim (Fig. 6): the spread statistic and its
verdict against hand-computed values, the tuner's lines, and the table command end to end on tiny
run directories written to tmp_path (a grid sweep with both optimizers, a user's ``single``
sweep, and a reference file with an ``lr_robustness`` claim)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from experiments.report.grouping import group_runs
from experiments.report.lr_robustness import (
    RESAMPLES,
    robustness_verdict,
    spread_test,
)
from experiments.report.lr_sensitivity import sweep_sensitivities
from experiments.report.records import record_from_summary
from experiments.report.reference import ReferenceError, load_reference
from experiments.report.tables_command import TablesRequest, run_tables

SMALLEST_P = 2 / (1 + RESAMPLES)
"""A bootstrap whose every resample lies on the claimed side of 0."""
RADAM = {0.1: [90.0] * 3, 0.01: [91.0] * 3, 0.001: [92.0] * 3}
ADAM = {0.1: [80.0] * 3, 0.01: [88.0] * 3, 0.001: [91.0] * 3}
"""Per-lr means 90, 91, 92 (spread 2) and 80, 88, 91 (spread 11): Δ = 9 at every resample."""


def test_the_spread_and_its_bootstrap_against_hand_computed_values() -> None:
    test = spread_test(RADAM, ADAM, "test/acc")
    assert (test.better, test.worse, test.lrs) == (2.0, 11.0, (0.001, 0.01, 0.1))
    comparison = test.comparison
    assert (comparison.n, comparison.mean, comparison.ci_low, comparison.ci_high) == (3, 9, 9, 9)
    assert comparison.p_value == pytest.approx(SMALLEST_P)
    verdict = robustness_verdict(test)
    assert verdict.label == "holds" and "spreads 2 vs 11" in verdict.reason
    reversed_ = robustness_verdict(spread_test(ADAM, RADAM, "test/acc"))
    assert reversed_.label == "reversed"


def test_noise_over_seeds_leaves_the_claim_not_shown() -> None:
    # Per-lr means 90, 90 (spread 0) and 89, 91 (spread 2), but seeds range over ±10.
    better = {0.1: [80.0, 90.0, 100.0], 0.01: [100.0, 90.0, 80.0]}
    worse = {0.1: [79.0, 89.0, 99.0], 0.01: [81.0, 91.0, 101.0]}
    test = spread_test(better, worse, "test/acc")
    assert test.comparison.mean == pytest.approx(2.0)
    assert test.comparison.ci_low < 0 < test.comparison.ci_high
    assert test.comparison.p_value > 0.05
    assert robustness_verdict(test).label == "not shown"
    again = spread_test(better, worse, "test/acc")  # a fixed generator: the same verdict
    assert again.comparison == test.comparison


def test_a_diverged_run_counts_as_the_worst_finished_value() -> None:
    # Adam diverged once at lr 0.1; the worst finished accuracy is 70 (its own, at 0.1), so its
    # mean there is (70 + 70 + 70) / 3 and its spread 91 − 70 = 21.
    adam = {0.1: [None, 70.0, 70.0], 0.01: [91.0] * 3}
    test = spread_test({0.1: [90.0] * 3, 0.01: [91.0] * 3}, adam, "test/acc")
    assert (test.better, test.worse, test.diverged) == (1.0, 21.0, (0, 1))
    # Perplexity: lower is better, so the worst value is the largest finished one (200).
    ppl = spread_test({1: [100.0] * 3, 2: [110.0] * 3}, {1: [100.0] * 3, 2: [200.0, None, 200.0]},
                      "val/ppl")  # fmt: skip
    assert (ppl.better, ppl.worse) == (10.0, 100.0)
    assert "diverged runs counted as the worst value: 0 vs 1" in robustness_verdict(ppl).reason


def test_too_few_seeds_or_learning_rates_is_not_shown() -> None:
    two_seeds = {lr: values[:2] for lr, values in ADAM.items()}
    verdict = robustness_verdict(spread_test(RADAM, two_seeds, "test/acc"))
    assert verdict.label == "not shown" and "2 seeds at some lr" in verdict.reason
    assert spread_test({0.1: [90.0] * 3}, {0.1: [80.0] * 3, 0.01: [88.0] * 3}, "x") is None
    assert robustness_verdict(None).label == "not shown"


def summary(sweep: str, optimizer: str, seed: int, overrides: dict, acc: float | None) -> dict:
    """A finished run's ``summary.json`` with test and validation accuracy ``acc``, or a
    diverged one without metrics (``acc`` None)."""
    name = "/".join([sweep, "digits", optimizer, *(f"{k}={v}" for k, v in overrides.items())])
    metrics = {} if acc is None else {"test/acc": acc, "val/acc": acc - 1}
    best = {key: {"epoch": 2.0, "step": 80, "value": value} for key, value in metrics.items()}
    return {
        "name": f"{name}/seed={seed}", "sweep": sweep, "task": "digits",
        "optimizer": optimizer, "seed": seed, "overrides": overrides,
        "status": "finished" if acc is not None else "diverged", "final": metrics, "best": best,
        "headline": {"metric": "test/acc", "mode": "max"}, "steps": 80, "epochs": 2.0,
    }  # fmt: skip


def write_runs(root: Path, summaries: list[dict]) -> None:
    for item in summaries:
        run_dir = root / item["name"]
        run_dir.mkdir(parents=True)
        (run_dir / "summary.json").write_text(json.dumps(item))


def grid_sweep() -> list[dict]:
    """RAdam and Adam at lr {0.1, 0.01, 0.001} × seeds 1-3 (RADAM, ADAM above); Adam's seed 4
    at lr 0.1 diverged (it counts as 80, Adam's worst finished value: no mean changes)."""
    found = [
        summary("grid", optimizer, seed, {"optimizer.lr": str(lr)}, values[seed - 1])
        for optimizer, grid in (("radam", RADAM), ("adam", ADAM))
        for lr, values in grid.items()
        for seed in (1, 2, 3)
    ]
    return [*found, summary("grid", "adam", 4, {"optimizer.lr": "0.1"}, None)]


REFERENCE = """
citation: a hand-made robustness fixture
tables:
  t: {title: "Fixture: RAdam against Adam over the lr grid"}
defaults:
  row: &row
    paper: robust
    in_paper: Fig. 6
    table: t
    task: digits
    metric: test/acc
    statistic: final
    select: {over: [optimizer.lr], split: test}
    value: null
    tolerance: 0.5
    sweeps: []
entries:
  - {<<: *row, id: radam, label: RAdam, optimizer: radam}
  - {<<: *row, id: adam, label: Adam, optimizer: adam}
lr_robustness:
  - {id: radam_robust, text: RAdam varies less across lrs than Adam, better: radam, worse: adam}
"""


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lr")
    runs, reference = root / "runs", root / "reference"
    write_runs(runs, grid_sweep())
    reference.mkdir()
    (reference / "robust.yaml").write_text(REFERENCE)
    # Figures off (drawing is slow on a busy machine): the next test draws one.
    request = TablesRequest(str(runs), root / "out", "t", reference=reference, figures=False)
    assert run_tables(request) == 0
    return root / "out"


def test_make_tables_writes_the_robustness_claim_of_a_reference_table(tables: Path) -> None:
    claims = pd.read_csv(tables / "robust" / "claims.csv").set_index("id")
    row = claims.loc["radam_robust"]
    assert (row["verdict"], row["difference"], row["pairs"]) == ("holds", 9.0, 3)
    assert row["p_value"] == pytest.approx(SMALLEST_P)
    assert "diverged runs counted as the worst value: 0 vs 1" in row["reason"]
    assert "grid/digits/adam/optimizer.lr=0.1/seed=4" in row["worse_runs"]
    assert "Robustness rows (RAdam Fig. 6)" in (tables / "robust" / "claims.md").read_text()


def test_a_users_own_lr_sweep_gets_its_figure_without_a_flag(tmp_path: Path) -> None:
    single = [summary("single", "sgd", 1, {"optimizer.lr": lr}, acc)
              for lr, acc in (("0.1", 90.0), ("0.05", 85.0))]  # fmt: skip
    write_runs(tmp_path / "runs", single)  # python -m experiments.train -m optimizer.lr=0.1,0.05
    (tmp_path / "none").mkdir()  # no reference file: only the groups and the sweeps
    assert run_tables(TablesRequest(str(tmp_path / "runs"), tmp_path / "out", "t",
                                    reference=tmp_path / "none")) == 0  # fmt: skip
    figure = tmp_path / "out" / "sweeps" / "single" / "lr_sensitivity_digits.png"
    assert figure.read_bytes()[:4] == b"\x89PNG"
    assert figure.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    assert not figure.with_name("lr_robustness.csv").exists()  # SGD only: no claim


def test_a_sweep_with_both_optimizers_gets_the_claim(tables: Path) -> None:
    claims = pd.read_csv(tables / "sweeps" / "grid" / "lr_robustness.csv")
    assert list(claims["id"]) == ["digits.radam_vs_adam.lr_robustness"]
    assert (claims["verdict"][0], claims["difference"][0]) == ("holds", 9.0)
    latex = (tables / "sweeps" / "grid" / "lr_robustness.tex").read_text()
    assert latex.count(r"\begin{tabular}") == 1 and "holds" in latex


def test_a_tuners_trials_become_one_line_of_points_per_preset() -> None:
    trials = [  # random search: every trial has its own lr and weight decay, one seed
        summary("tune", "adam", 1, {"optimizer.lr": lr, "optimizer.weight_decay": wd}, acc)
        for lr, wd, acc in (
            ("0.0031", "1e-4", 90.0),
            ("0.012", "3e-5", 88.0),
            ("0.0007", "0", 85.0),
        )
    ]
    records = [record_from_summary(item, item["name"], None) for item in trials]
    (found,) = sweep_sensitivities(group_runs(records))
    assert (found.sweep, found.task, list(found.lines)) == (
        "tune",
        "digits",
        ["adam (other keys vary)"],
    )
    assert len(found.lines["adam (other keys vary)"]) == 3 and found.robustness == []


def test_a_robustness_claim_on_a_row_not_selected_over_the_lr_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(REFERENCE.replace("select: {over: [optimizer.lr]", "select: {over: []"))
    with pytest.raises(ReferenceError, match="radam_robust: entry radam is not selected over"):
        load_reference(path)


def test_a_tuners_continuous_lrs_are_compared_in_half_decade_bins() -> None:
    # Three trials per side near 1e-3 and three near 1e-2, no lr shared: bins 1e-3 and 1e-2,
    # per-bin means 90, 91 (spread 1) against 80, 88 (spread 8), Δ = 7 at every resample.
    trials = {
        "radam": [("0.0009", 90.0), ("0.0011", 90.0), ("0.001", 90.0),
                  ("0.009", 91.0), ("0.011", 91.0), ("0.01", 91.0)],
        "adam": [("0.00095", 80.0), ("0.00105", 80.0), ("0.0012", 80.0),
                 ("0.0095", 88.0), ("0.0105", 88.0), ("0.012", 88.0)],
    }  # fmt: skip
    records = [
        record_from_summary(item, item["name"], None)
        for optimizer, side in trials.items()
        for lr, acc in side
        for item in [summary("tune", optimizer, 1, {"optimizer.lr": lr}, acc)]
    ]
    (found,) = sweep_sensitivities(group_runs(records))
    (result,) = found.robustness
    assert (result.test.better, result.test.worse, result.test.binned) == (1.0, 8.0, True)
    assert result.verdict.label == "holds"
    assert "over lr bins centred at {0.001, 0.01}" in result.verdict.reason
