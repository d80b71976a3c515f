"""The claims of a reference file (and a sweep's learning-rate robustness claims), tested on our
runs, as Markdown, CSV and LaTeX.

Two kinds of row share one table: a pairwise claim (``cells.ClaimResult``: Δ is the paired
difference of the metric) and a robustness claim (``lr_robustness.RobustnessResult``: Δ is the
difference of the spreads across learning rates, ``Pairs`` the fewest seeds at any lr, the
interval and p from a bootstrap over seeds)."""

from __future__ import annotations

from collections.abc import Sequence

from experiments.report.cells import ClaimResult
from experiments.report.formatting import decimals_of, interval, number, p_value
from experiments.report.lr_robustness import RobustnessResult
from experiments.report.render_tables import Context
from experiments.report.text_formats import csv_text, latex_tabular, markdown_table

CLAIM_RULE = (
    "Paired over the seeds both settings finished; Δ > 0 favours the claimed-better side; 95% "
    "t interval and two-sided paired t-test. `holds`/`reversed`: p < 0.05 in the claimed/"
    "opposite direction; `not shown`: otherwise, or fewer than 3 paired seeds."
)
ROBUSTNESS_RULE = (
    "Robustness rows (RAdam Fig. 6): Ours Δ = spread(worse) − spread(better), the spread being "
    "max − min over the lrs both ran of the per-lr mean over seeds (a diverged run counts as "
    "the worst finished value); 95% percentile interval and p from 1999 bootstrap resamples of "
    "the seeds; Pairs: the fewest seeds at any lr; the same verdict rule on Δ."
)
Result = ClaimResult | RobustnessResult
MARKDOWN_COLUMNS = (
    "Claim | Better | Worse | Paper Δ | Ours Δ | 95% CI | Pairs | p | Verdict | Reason"
)
LATEX_COLUMNS = ["Claim", "Paper Δ", "Ours Δ", "95% CI", "Pairs", "p", "Verdict"]
CSV_COLUMNS = (
    "id text better worse paper_difference pairs difference ci_low ci_high p_value verdict "
    "reason better_runs worse_runs"
).split()


def _paper_difference(result: Result) -> float | None:
    return None if isinstance(result, RobustnessResult) else result.paper_difference


def _runs(result: Result) -> tuple[list[str], list[str]]:
    if isinstance(result, RobustnessResult):
        return result.better_runs, result.worse_runs
    return [run.name for run in result.better.runs], [run.name for run in result.worse.runs]


def _rules(results: Sequence[Result]) -> list[str]:
    kinds = {isinstance(r, RobustnessResult) for r in results}
    return [rule for kind, rule in ((False, CLAIM_RULE), (True, ROBUSTNESS_RULE)) if kind in kinds]


def _formatted(result: Result) -> dict[str, str]:
    if isinstance(result, RobustnessResult):
        d = 2
    else:
        d = decimals_of(result.better.entry.value, result.worse.entry.value)
    comparison = result.comparison
    return {
        "paper": number(_paper_difference(result), d, signed=True),
        "ours": number(comparison.mean, d, signed=True),
        "ci": interval(comparison.ci_low, comparison.ci_high, d),
        "pairs": str(comparison.n),
        "p": p_value(comparison.p_value),
    }


def claims_markdown(results: Sequence[Result], title: str, context: Context) -> str:
    lines = [f"# {title}", "", f"- Regenerate: `{context.regenerate}`"]
    lines += [f"- {rule}" for rule in _rules(results)] + [""]
    rows = []
    for r in results:
        f = _formatted(r)
        rows.append([r.claim.text, r.claim.better, r.claim.worse, f["paper"], f["ours"], f["ci"],
                     f["pairs"], f["p"], f"**{r.verdict.label}**", r.verdict.reason])  # fmt: skip
    lines += markdown_table(MARKDOWN_COLUMNS.split(" | "), rows)
    notes = []
    for r in results:
        matched = "" if isinstance(r, RobustnessResult) else r.matched_note
        if r.claim.notes or matched:
            notes.append(f"{r.claim.id}: {' '.join(filter(None, [matched, r.claim.notes]))}")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def claims_latex(results: Sequence[Result], title: str, context: Context) -> str:
    rows = []
    for r in results:
        f = _formatted(r)
        rows.append([r.claim.text, f["paper"], f["ours"], f["ci"], f["pairs"], f["p"],
                     r.verdict.label])  # fmt: skip
    comments = [title, f"Regenerate: {context.regenerate}", *_rules(results)]
    return latex_tabular(comments, LATEX_COLUMNS, rows)


def claims_csv(results: Sequence[Result]) -> str:
    rows = [
        {
            "id": r.claim.id,
            "text": r.claim.text,
            "better": r.claim.better,
            "worse": r.claim.worse,
            "paper_difference": _paper_difference(r),
            "pairs": r.comparison.n,
            "difference": r.comparison.mean,
            "ci_low": r.comparison.ci_low,
            "ci_high": r.comparison.ci_high,
            "p_value": r.comparison.p_value,
            "verdict": r.verdict.label,
            "reason": r.verdict.reason,
            "better_runs": ";".join(_runs(r)[0]),
            "worse_runs": ";".join(_runs(r)[1]),
        }  # fmt: skip
        for r in results
    ]
    return csv_text(rows, CSV_COLUMNS)
