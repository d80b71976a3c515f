"""The table command end to end on the fixture runs (``python -m scripts.make_tables`` itself for
the main output): cells, verdicts, claims, counts, traceability, every output format, figures,
no runs at all, and bad input."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from experiments.report.tables_command import TablesRequest, run_tables
from tests.report.command_line import run_script
from tests.report.fixture_paths import FIXTURE_REFERENCE, FIXTURE_RUNS


def write_tables(runs: Path, out: Path, **options) -> int:
    """The table command's exit code for ``runs`` and ``options`` (``TablesRequest``'s)."""
    return run_tables(TablesRequest(str(runs), out, "python -m scripts.make_tables", **options))


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tables")
    argv = ["--runs", str(FIXTURE_RUNS), "--out", str(out), "--reference", str(FIXTURE_REFERENCE)]
    done = run_script("make_tables", *argv)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def cells(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "fixture" / "digits.csv", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def test_selected_settings_statistics_and_verdicts(cells) -> None:
    on_val, on_test, best = cells["sgd.val"], cells["sgd.test"], cells["sgd.best"]
    assert on_val["setting"] == "optimizer.lr=0.1" and on_test["setting"] == "optimizer.lr=0.01"
    # lr 0.1 final test accuracies 90, 91, 92: mean 91, std 1, t-interval 91 ± 4.3027 / √3.
    half = 4.302653 / math.sqrt(3)
    assert [float(on_val[k]) for k in ("n", "mean", "std", "ci_low", "ci_high")] == pytest.approx(
        [3, 91.0, 1.0, 91 - half, 91 + half], rel=1e-6
    )
    # 91.2 lies in the interval, whose half-width 2.48 is far beyond the tolerance 0.1.
    assert on_val["verdict"].startswith("inconclusive")
    assert on_test["verdict"] == "higher" and float(on_test["difference"]) == pytest.approx(3.0)
    assert float(best["mean"]) == pytest.approx(92.0)  # best-epoch values 91, 92, 93
    adam = cells["adam"]
    assert float(adam["mean"]) == pytest.approx((88.0 + 89.5 + 89.0) / 3)
    assert adam["verdict"] == "lower"
    own = cells["sgd.own"]  # a row without a published number: statistics, no verdict
    assert own["verdict"] == "no paper value" and float(own["mean"]) == pytest.approx(91.0)


def test_diverged_failed_unfinished_missing_and_empty_cells(cells) -> None:
    adam = cells["adam"]
    assert [adam[k] for k in ("finished", "diverged", "failed", "unfinished", "missing")] == [
        "3", "1", "1", "2", "0",
    ]  # fmt: skip
    assert "seed=7" in adam["runs"]  # the run killed before writing summary.json is listed
    radam = cells["radam"]
    assert radam["verdict"] == "n<3" and radam["n"] == "2" and radam["missing"] == "1"
    assert cells["adagrad"]["verdict"] == "no runs" and cells["adagrad"]["missing"] == "3"
    assert cells["adam.train"]["verdict"] == "metric not logged"
    assert "max_steps=80" in adam["notes"]  # the smoke run is reported, never used


def test_claims(out: Path) -> None:
    claims = pd.read_csv(out / "fixture" / "claims.csv").set_index("id")
    assert claims.loc["sgd_beats_adam", "verdict"] == "holds"
    assert claims.loc["adam_beats_sgd", "verdict"] == "reversed"
    assert claims.loc["radam_beats_adam", "verdict"] == "not shown"
    assert claims.loc["radam_beats_adam", "pairs"] == 2
    assert claims.loc["sgd_lower_loss", "verdict"] == "holds"  # a metric where lower is better
    # Paired differences 2.0, 1.5, 3.0 (df 2): p = 1 - t / sqrt(t^2 + 2).
    t = (13 / 6) / math.sqrt(7 / 36)
    assert claims.loc["sgd_beats_adam", "p_value"] == pytest.approx(1 - t / math.sqrt(t * t + 2))


def test_a_claim_with_matched_epochs_compares_each_run_up_to_that_epoch(out: Path) -> None:
    claims = pd.read_csv(out / "fixture" / "claims.csv").set_index("id")
    matched = claims.loc["sgd_beats_adam_at_epoch_1"]
    assert matched["paper_difference"] == pytest.approx(1.0)  # 85 − 84, not 91.2 − 95
    differences = []
    for seed in (1, 2, 3):  # the last test/acc at epoch ≤ 1 of each side's run, read directly
        sides = [f"sgd/optimizer.lr=0.1/seed={seed}", f"adam/optimizer.lr=0.001/seed={seed}"]
        at_one = []
        for side in sides:
            lines = (FIXTURE_RUNS / "fixture" / "digits" / side / "metrics.jsonl").read_text()
            events = [json.loads(line) for line in lines.splitlines()]
            at_one.append(
                [e["test/acc"] for e in events if "test/acc" in e and e["epoch"] <= 1][-1]
            )
        differences.append(at_one[0] - at_one[1])
    assert matched["difference"] == pytest.approx(sum(differences) / 3)
    text = (out / "fixture" / "claims.md").read_text()
    assert "compared at epoch 1, where the shorter reference run ends" in text


def test_traceability_header_and_cost(out: Path) -> None:
    text = (out / "fixture" / "digits.md").read_text()
    assert f"--runs {FIXTURE_RUNS}" in text  # the regenerate command
    assert "python -m experiments.train -m +paper=fixture" in text
    # CPU: 9 sgd runs + 3 adam (seeds 4-6) + 2 radam at 360 s; GPU: 3 adam runs at 720 s.
    assert "1.40 CPU-hours (14 runs)" in text and "0.60 GPU-hours (3 runs)" in text
    assert "`fixture/digits/sgd/optimizer.lr=0.1/seed={1,2,3}`" in text


def test_every_format_is_written_and_parses(out: Path) -> None:
    paper = out / "fixture"
    for stem in ("digits", "claims"):
        frame = pd.read_csv(paper / f"{stem}.csv")
        markdown = (paper / f"{stem}.md").read_text().splitlines()
        rows = [line for line in markdown if line.startswith("| ") and "---" not in line]
        assert len(rows) == len(frame) + 1  # header + one line per entry or claim
        width = {line.count(" | ") for line in rows}
        assert len(width) == 1  # every row has as many cells as the header
        latex = (paper / f"{stem}.tex").read_text()
        body = latex.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
        assert latex.count(r"\begin{tabular}") == latex.count(r"\end{tabular}") == 1
        assert len(body) == len(frame)
        columns = latex.split(r"\begin{tabular}{")[1].split("}")[0]
        assert {line.count(" & ") + 1 for line in body} == {len(columns)}
    groups = pd.read_csv(out / "groups.csv")
    assert len(groups) == 6  # sgd × 3 lrs, adam × 2 override sets, radam
    sweep = out / "sweeps" / "fixture"  # the fixture sweep's SGD lrs 0.01, 0.1 and 1.0
    for stem in (paper / "digits_curves", paper / "digits_lr_sensitivity",
                 sweep / "lr_sensitivity_digits"):  # fmt: skip
        assert stem.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert stem.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    assert not (out / "sweeps" / "single").exists()  # one lr only: no figure


def test_no_runs_gives_the_papers_tables_with_empty_cells(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    assert write_tables(runs, tmp_path / "out") == 0
    table = pd.read_csv(tmp_path / "out" / "radam" / "table1_cifar10.csv")
    assert set(table["verdict"]) == {"no runs"}
    assert 91.38 in set(table["paper_value"])
    text = (tmp_path / "out" / "radam" / "table1_cifar10.md").read_text()
    assert "91.38" in text and "no runs yet" in text
    for paper in ("adabound", "adam_decay_blog", "reruns"):
        assert (tmp_path / "out" / paper / "claims.md").exists()
    claims = pd.read_csv(tmp_path / "out" / "radam" / "claims.csv").set_index("id")
    assert claims.loc["cifar10.radam_lr_robust", "verdict"] == "not shown"  # Fig. 6, no runs


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "reference"
    broken.mkdir()
    (broken / "bad.yaml").write_text("tables: {t: {title: T}}\nentries: [{id: x, table: t}]\n")
    assert write_tables(tmp_path, tmp_path / "o", reference=broken) == 2
    assert "entry x: missing" in capsys.readouterr().err
    assert write_tables(tmp_path, tmp_path / "o", papers=["nope"]) == 2
    assert "unknown paper nope" in capsys.readouterr().err


def test_a_runs_directory_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_script("make_tables", "--runs", str(tmp_path / "rnus"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and f"--runs {tmp_path / 'rnus'} is not a directory" in (
        done.stderr
    )
    assert not (tmp_path / "o").exists()


def test_a_paper_spread_over_task_family_files_lands_in_one_folder(tmp_path: Path) -> None:
    """``--paper radam`` takes radam.yaml, radam_lm.yaml and radam_nmt.yaml (``paper: radam``):
    their tables share results/radam/, each file's claims keep their own file."""
    (tmp_path / "none").mkdir()
    assert write_tables(tmp_path / "none", tmp_path, papers=["radam"], figures=False) == 0
    written = {path.name for path in (tmp_path / "radam").iterdir()}
    assert {"table1_cifar10.md", "table1_lm1b.md", "table2_nmt.md"} <= written
    assert {"claims.md", "claims_lm.md", "claims_nmt.md"} <= written
    assert not (tmp_path / "radam_lm").exists()
    assert "no runs" in (tmp_path / "radam" / "table1_lm1b.md").read_text()


def test_a_cell_never_pools_another_sweeps_runs_silently(tmp_path: Path) -> None:
    """The fixture's SGD lr 0.1 runs again under another sweep (one's own, say): the cell keeps
    its three fixture seeds and says the other sweep's runs exist; --pool-sweeps pools them."""
    import json
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(FIXTURE_RUNS, runs)
    source = runs / "fixture" / "digits" / "sgd" / "optimizer.lr=0.1"
    for seed_dir in source.iterdir():
        copy = runs / "mine" / "digits" / "sgd" / "optimizer.lr=0.1" / seed_dir.name
        shutil.copytree(seed_dir, copy)
        summary = json.loads((copy / "summary.json").read_text())
        (copy / "summary.json").write_text(json.dumps({**summary, "sweep": "mine"}))

    def cell(pool_sweeps: bool = False) -> dict[str, str]:
        out = tmp_path / ("pooled" if pool_sweeps else "own")
        options = {"reference": FIXTURE_REFERENCE, "figures": False, "pool_sweeps": pool_sweeps}
        assert write_tables(runs, out, **options) == 0
        with open(out / "fixture" / "digits.csv", newline="") as handle:
            return {row["id"]: row for row in csv.DictReader(handle)}["sgd.val"]

    own = cell()
    assert own["n"] == "3" and "mine" not in own["runs"]
    assert "3 run(s) of this setting in other sweeps (mine) are not counted" in own["notes"]
    pooled = cell(pool_sweeps=True)
    assert "seed(s) run more than once" in pooled["notes"]
