"""A benchmark's report from its manifest and run directories: ``benchmark.md``, CSVs and the
performance profile figure.

Per task, each optimizer's time-to-target (updates first, the median over seeds with its
min–max; seconds only when every seed ran alone, ``summary.json``'s ``concurrent_runs == 1``,
since runs sharing cores do not time alike), the final validation and test metric with the 95%
t-interval over seeds (``experiments.report.statistics``), the tuned setting and the budget.
Across tasks, AlgoPerf's performance profile ρ(τ) on τ ∈ [1, 4] and integrated score, and the
geometric-mean speed-up against the benchmark's baseline (``experiments.report.benchmark_scores``,
Dahl et al. 2023, arXiv:2306.07179, §4.5). A study's manifest is written by
``experiments.benchmark.runner``; ``make tables`` renders every manifest beside its runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.report.benchmark_scores import (
    geometric_mean_speedup,
    integrated_score,
    median_and_spread,
    performance_profile,
)
from experiments.report.records import RunRecord
from experiments.report.statistics import INTERVAL_NAME, summarize
from experiments.report.text_formats import csv_text, markdown_table
from experiments.runs.store import read_json

TAU_MAX = 4.0
MANIFEST = "benchmark.json"


@dataclass(frozen=True)
class Row:
    """One optimizer on one task, over the chosen setting's seeds."""

    task: str
    optimizer: str
    setting: dict[str, str]
    trials: int
    seeds: int
    reached: int
    updates: tuple[float, float, float]
    """median, min, max updates to the target (``inf``: missed)."""
    seconds: tuple[float, float, float] | None
    """The same in training seconds; None when a seed shared the machine (or has no record)."""
    val: Any
    test: Any
    """``statistics.Summary`` of the final validation / test headline metric."""
    target: dict[str, Any] | None


def _row(study: dict[str, Any], runs_root: Path) -> Row:
    seed_runs = [runs_root / name for name in study.get("seed_runs", [])]
    summaries = [read_json(run / "summary.json") for run in seed_runs]
    summaries = [s for s in summaries if s]
    metric = (summaries[0]["headline"]["metric"] if summaries else "test/?").rsplit("/", 1)[-1]
    targets = [s.get("target") or {} for s in summaries]
    reached = [t.get("reached") is True for t in targets]
    pairs = list(zip(targets, reached, strict=True))
    updates = [float(t["update"]) if ok else math.inf for t, ok in pairs]
    alone = all(s.get("concurrent_runs") == 1 for s in summaries)
    seconds = [float(t["time_train"]) if ok else math.inf for t, ok in pairs]
    best = study.get("best") or {}
    return Row(
        task=study["task"],
        optimizer=study["optimizer"],
        setting=best.get("setting", {}),
        trials=len(study.get("trials", [])),
        seeds=len(summaries),
        reached=sum(reached),
        updates=median_and_spread(updates) if updates else (math.inf,) * 3,
        seconds=median_and_spread(seconds) if summaries and alone else None,
        val=summarize([s["final"].get(f"val/{metric}", math.nan) for s in summaries]),
        test=summarize([s["final"].get(f"test/{metric}", math.nan) for s in summaries]),
        target=next((t for t in targets if t.get("metric")), None),
    )


def load_rows(manifest: dict[str, Any], runs_root: Path) -> list[Row]:
    return [_row(study, runs_root) for study in manifest["studies"]]


def time_table(rows: Sequence[Row], optimizers: Sequence[str]) -> dict[str, dict[str, float]]:
    """``times[optimizer][task]``: the median updates to the target (``inf``: missed), over the
    tasks every optimizer has finished (a stopped benchmark's report scores those)."""
    times: dict[str, dict[str, float]] = {optimizer: {} for optimizer in optimizers}
    for row in rows:
        times[row.optimizer][row.task] = row.updates[0]
    complete = set.intersection(*(set(row) for row in times.values()))
    return {o: {t: v for t, v in row.items() if t in complete} for o, row in times.items()}


def _number(value: float) -> str:
    return "miss" if math.isinf(value) else f"{value:.0f}" if value >= 10 else f"{value:.3g}"


def _spread(values: tuple[float, float, float] | None) -> str:
    if values is None:
        return "—"
    median, low, high = values
    if math.isinf(low):
        return "miss"
    return f"{_number(median)} [{_number(low)}–{_number(high)}]"


def _interval(summary: Any) -> str:
    if summary.n == 0 or math.isnan(summary.mean):
        return "—"
    if summary.n < 2:
        return f"{summary.mean:.2f}"
    return f"{summary.mean:.2f} [{summary.ci_low:.2f}, {summary.ci_high:.2f}]"


def _setting(setting: dict[str, str]) -> str:
    return ", ".join(f"{key.split('.')[-1]}={float(v):.3g}" for key, v in setting.items()) or "—"


def profile_figure(rho: dict[str, list[float]], taus: np.ndarray, out_dir: Path) -> list[Path]:
    """ρ(τ) per optimizer as step lines on τ ∈ [1, τ_max] (AlgoPerf's Fig. 3 layout)."""
    from matplotlib.figure import Figure

    from experiments.analyses.figure_files import save_png_and_pdf
    from experiments.report.figures import MARKERS, STYLES

    fig = Figure(figsize=(6.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for index, (optimizer, values) in enumerate(rho.items()):
        ax.step(
            taus, values, where="post", label=optimizer, linestyle=STYLES[index % len(STYLES)],
            marker=MARKERS[index % len(MARKERS)], markevery=max(1, len(taus) // 6),
        )  # fmt: skip
    ax.set_xlim(1.0, float(taus[-1]))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("τ (time-to-target ratio to the fastest on the task, in updates)")
    ax.set_ylabel("ρ(τ): fraction of tasks within τ of the fastest")
    ax.set_title("Performance profile")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return save_png_and_pdf(fig, out_dir, "performance_profile")


def _task_section(task: str, rows: Sequence[Row]) -> list[str]:
    target = next((row.target for row in rows if row.target), None)
    said = "no target in the runs"
    if target:
        said = f"target {target['metric']} {target['value']}"
        said += f"; {target['source']}" if target.get("source") else ""
        said += ", assumed" if target.get("assumed") else ""
    lines = [f"### {task} ({said})", ""]
    columns = [
        "optimizer", "tuned setting", "trials", "updates to target: median [min–max]",
        "reached", "seconds (alone)", "final val (95% CI)", "final test (95% CI)",
    ]  # fmt: skip
    body = [
        [
            row.optimizer, _setting(row.setting), str(row.trials), _spread(row.updates),
            f"{row.reached}/{row.seeds}", _spread(row.seconds), _interval(row.val),
            _interval(row.test),
        ]
        for row in rows
    ]  # fmt: skip
    return [*lines, *markdown_table(columns, body), ""]


def render(manifest: dict[str, Any], rows: Sequence[Row], out_dir: Path) -> list[Path]:
    """Write ``benchmark.md``, ``time_to_target.csv``, ``scores.csv``,
    ``performance_profile.csv`` and ``performance_profile.png``/``.pdf`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    labels = [o["label"] for o in manifest["optimizers"]]
    times = time_table(rows, labels)
    expected = len(manifest.get("tasks", [])) * len(labels)
    stopped = (
        [f"**Incomplete:** {len(rows)} of {expected} studies finished; the scores cover "
         f"{', '.join(sorted(next(iter(times.values()))))}.", ""]
        if len(rows) < expected else []
    )  # fmt: skip
    taus = np.linspace(1.0, TAU_MAX, 301)
    rho = performance_profile(times, list(taus))
    scores = integrated_score(times, TAU_MAX)
    baseline = manifest["baseline"]
    speedups = geometric_mean_speedup(times, baseline)
    written += profile_figure(rho, taus, out_dir)
    budget, machine = manifest["budget"], manifest.get("machine", {})
    lines = [
        f"# Benchmark `{manifest['name']}` (budget {budget['name']})",
        "",
        f"Regenerate: `{manifest.get('command') or 'python -m scripts.benchmark'}` "
        f"(wall time {manifest.get('wall_s', math.nan) / 60:.1f} min on {machine.get('cpus')} "
        f"CPUs, {machine.get('processor')}, torch {machine.get('torch')}).",
        "",
        f"**Budget, equal for every optimizer:** {budget['trials']} trials per optimizer × task, "
        f"random search (`{manifest['sampler']['name']}`, seed {manifest['sampler']['seed']}) "
        "over each optimizer's `configs/search/` space; the best trial on the validation "
        f"objective then ran over seeds {budget['seeds']}.",
        "",
        *stopped,
        "## Scores",
        "",
        *markdown_table(
            ["optimizer", "search space", "integrated score (τ ≤ 4)", f"speed-up vs {baseline}"],
            [
                [
                    o["label"],
                    o["search"],
                    f"{scores[o['label']]:.3f}",
                    "—" if math.isnan(speedups[o["label"]]) else f"{speedups[o['label']]:.2f}×",
                ]
                for o in manifest["optimizers"]
                if o["label"] in scores
            ],
        ),  # fmt: skip
        "",
        "![performance profile](performance_profile.png)",
        "",
        "The integrated score is AlgoPerf's: ρ(τ) integrated over τ ∈ [1, 4] and divided by 3, "
        "with ρ(τ) the fraction of tasks on which the optimizer's median updates-to-target are "
        "within τ times the fastest (a miss counts as infinite). The speed-up is the geometric "
        f"mean over tasks both reached of {baseline}'s updates-to-target over the optimizer's.",
        "",
        "## Per task",
        "",
    ]
    for task in dict.fromkeys(row.task for row in rows):
        lines += _task_section(task, [row for row in rows if row.task == task])
    lines += [
        "Updates to target: the first evaluation reaching the task's target, median over "
        "seeds [min–max]; `miss`: not reached within the budget. Seconds: training time to "
        "the target, shown only when every seed ran alone on its machine (`concurrent_runs` 1), "
        "else — (`concurrent_runs` counts the suite's runs: other load on the machine still "
        f"skews seconds, never updates). Intervals: {INTERVAL_NAME} of the final evaluation.",
        "",
    ]
    _write(out_dir / "benchmark.md", "\n".join(lines), written)
    _write(out_dir / "time_to_target.csv", _rows_csv(rows), written)
    score_rows = [
        {"optimizer": o, "integrated_score": scores[o], "speedup": speedups[o],
         "baseline": baseline}
        for o in times
    ]  # fmt: skip
    _write(out_dir / "scores.csv", csv_text(score_rows, list(score_rows[0])), written)
    profile_rows = [
        {"tau": round(float(tau), 4), **{o: rho[o][i] for o in rho}} for i, tau in enumerate(taus)
    ]
    _write(out_dir / "performance_profile.csv", csv_text(profile_rows, ["tau", *rho]), written)
    return written


def _rows_csv(rows: Sequence[Row]) -> str:
    table = []
    for row in rows:
        seconds = row.seconds or (math.nan,) * 3
        table.append(
            {
                "task": row.task, "optimizer": row.optimizer, "setting": _setting(row.setting),
                "trials": row.trials, "seeds": row.seeds, "reached": row.reached,
                "updates_median": row.updates[0], "updates_min": row.updates[1],
                "updates_max": row.updates[2], "seconds_median": seconds[0],
                "seconds_min": seconds[1], "seconds_max": seconds[2],
                "val_mean": row.val.mean, "val_ci_low": row.val.ci_low,
                "val_ci_high": row.val.ci_high, "test_mean": row.test.mean,
                "test_ci_low": row.test.ci_low, "test_ci_high": row.test.ci_high,
            }
        )  # fmt: skip
    return csv_text(table, list(table[0]) if table else ["task"])


def _write(path: Path, text: str, written: list[Path]) -> None:
    path.write_text(text)
    written.append(path)


def write_report(manifest_path: Path, out_dir: Path) -> list[Path]:
    """The report of the benchmark whose manifest is ``manifest_path`` (its runs beside it)."""
    manifest = json.loads(Path(manifest_path).read_text())
    rows = load_rows(manifest, Path(manifest_path).parent.parent)
    return render(manifest, rows, Path(out_dir))


def report_folder(name: str, budget: str) -> str:
    """The report's folder: the benchmark's name at the default budget (``offline``), else
    ``<name>_<budget>`` (``offline_smoke``); the same for ``make benchmark`` and ``make tables``."""
    return name if budget == "default" else f"{name}_{budget}"


def benchmark_reports(records: Iterable[RunRecord], out_dir: Path) -> list[Path]:
    """For ``make tables``: every benchmark among the local runs, rendered into
    ``<out>/benchmark/<report_folder>/``."""
    manifests = {
        record.path.parents[3] / MANIFEST
        for record in records
        if record.path is not None and len(record.path.parents) > 3
    }
    written: list[Path] = []
    for manifest in sorted(m for m in manifests if m.is_file()):
        content = json.loads(manifest.read_text())
        folder = report_folder(content["name"], content["budget"]["name"])
        written += write_report(manifest, Path(out_dir) / "benchmark" / folder)
    return written
