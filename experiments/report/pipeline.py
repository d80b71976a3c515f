"""Runs in, files out: every reference table, its claims, figures and the groups overview.

Output layout: ``<out>/groups.{md,csv}`` (every group of runs), and per reference file
``<out>/<paper>/<table>.{md,csv,tex}``, ``<out>/<paper>/claims[_<family>].{md,csv,tex}`` and the
figures
``<out>/<paper>/<table>_curves*.{png,pdf}`` and ``<table>_lr_sensitivity*.{png,pdf}``; per sweep
whose runs spelled two or more learning rates (paper, tuner or one's own, ``single`` included)
``<out>/sweeps/<sweep>/lr_sensitivity_<task>.{png,pdf}`` and, where RAdam and Adam presets both
swept the lr, ``<out>/sweeps/<sweep>/lr_robustness.{md,csv,tex}``
(``experiments/report/lr_sensitivity.py``); per benchmark among the runs
``<out>/benchmark/<name>_<budget>/benchmark.md`` and its CSVs and performance profile
(``experiments/report/benchmark_report.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from experiments.report.cells import Cell, ClaimResult, TableResult, build_claims, build_table
from experiments.report.grouping import group_runs, index_by_task_optimizer
from experiments.report.lr_robustness import RobustnessResult, reference_robustness
from experiments.report.lr_sensitivity import sweep_sensitivities
from experiments.report.overview import group_rows, groups_csv, groups_markdown
from experiments.report.records import RunRecord
from experiments.report.reference import ReferenceSet, second_references
from experiments.report.render_claims import claims_csv, claims_latex, claims_markdown
from experiments.report.render_tables import Context, table_csv, table_latex, table_markdown


@dataclass
class Outputs:
    written: list[Path] = field(default_factory=list)
    tables: list[TableResult] = field(default_factory=list)
    claims: dict[str, list[ClaimResult | RobustnessResult]] = field(default_factory=dict)

    def verdict_counts(self) -> Counter[str]:
        return Counter(cell.verdict.label for table in self.tables for cell in table.cells)


def _write(path: Path, text: str, written: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    written.append(path)


def _write_claims(
    stem: Path, claims: list[ClaimResult | RobustnessResult], title: str, context: Context,
    written: list[Path],
) -> None:  # fmt: skip
    _write(stem.with_suffix(".md"), claims_markdown(claims, title, context), written)
    _write(stem.with_suffix(".csv"), claims_csv(claims), written)
    _write(stem.with_suffix(".tex"), claims_latex(claims, title, context), written)


def make_tables(
    records: Iterable[RunRecord],
    references: Mapping[str, ReferenceSet],
    out_dir: Path,
    context: Context,
    papers: Sequence[str] | None = None,
    figures: bool = True,
    split: str | None = None,
    pool_sweeps: bool = False,
) -> Outputs:
    """Write the tables of ``papers`` (default: every reference file) and the groups overview.
    ``split`` replaces every entry's selection split (``val`` or ``test``) when given;
    ``pool_sweeps`` pools the runs of every sweep (by default a cell takes its entry's sweeps'
    runs only)."""
    out_dir = Path(out_dir)
    outputs = Outputs()
    groups = group_runs(records, pool_sweeps)
    index = index_by_task_optimizer(groups)
    seconds = second_references(list(references.values()))
    rows = group_rows(groups.values())
    _write(out_dir / "groups.md", groups_markdown(rows, context.regenerate), outputs.written)
    _write(out_dir / "groups.csv", groups_csv(rows), outputs.written)
    for name in papers or list(references):
        reference = references[name]
        paper_dir = out_dir / reference.paper
        cells: dict[str, Cell] = {}
        for spec in reference.tables.values():
            table = build_table(reference, spec, index, split, seconds)
            outputs.tables.append(table)
            cells.update((cell.entry.id, cell) for cell in table.cells)
            for suffix, text in (
                ("md", table_markdown(table, context)),
                ("csv", table_csv(table)),
                ("tex", table_latex(table, context)),
            ):
                _write(paper_dir / f"{spec.name}.{suffix}", text, outputs.written)
            if figures:
                from experiments.report.figures import learning_curves
                from experiments.report.lr_sensitivity_figure import table_figures

                outputs.written += learning_curves(table, paper_dir)
                outputs.written += table_figures(table, paper_dir)
        claims = [
            *build_claims(reference, cells),
            *reference_robustness(reference.robustness, cells),
        ]
        outputs.claims[name] = claims
        if claims:
            title = f"Claims: {reference.citation or name}"
            _write_claims(
                paper_dir / reference.claims_stem, claims, title, context, outputs.written
            )
    robustness: dict[str, list[ClaimResult | RobustnessResult]] = {}
    for sweep in sweep_sensitivities(groups):
        if figures:
            from experiments.report.lr_sensitivity_figure import sweep_figure

            outputs.written += sweep_figure(sweep, out_dir / "sweeps" / sweep.directory)
        robustness.setdefault(sweep.directory, []).extend(sweep.robustness)
    for directory, results in robustness.items():
        if results:
            title = f"Learning-rate robustness (RAdam Fig. 6) in sweep {directory}"
            stem = out_dir / "sweeps" / directory / "lr_robustness"
            _write_claims(stem, results, title, context, outputs.written)
    from experiments.report.benchmark_report import benchmark_reports

    runs = (record for group in groups.values() for record in group.runs.values())
    outputs.written += benchmark_reports(runs, out_dir)
    return outputs
