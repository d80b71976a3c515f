"""The claims of a reference file, tested on our runs, as Markdown, CSV and LaTeX."""

from __future__ import annotations

from collections.abc import Sequence

from experiments.report.cells import ClaimResult
from experiments.report.formatting import decimals_of, interval, number, p_value
from experiments.report.render_tables import Context
from experiments.report.text_formats import csv_text, latex_tabular, markdown_table

CLAIM_RULE = (
    "Paired over the seeds both settings finished; Δ > 0 favours the claimed-better side; 95% "
    "t interval and two-sided paired t-test. `holds`/`reversed`: p < 0.05 in the claimed/"
    "opposite direction; `not shown`: otherwise, or fewer than 3 paired seeds."
)
MARKDOWN_COLUMNS = (
    "Claim | Better | Worse | Paper Δ | Ours Δ | 95% CI | Pairs | p | Verdict | Reason"
)
LATEX_COLUMNS = ["Claim", "Paper Δ", "Ours Δ", "95% CI", "Pairs", "p", "Verdict"]
CSV_COLUMNS = (
    "id text better worse paper_difference pairs difference ci_low ci_high p_value verdict "
    "reason better_runs worse_runs"
).split()


def _formatted(result: ClaimResult) -> dict[str, str]:
    d, comparison = (
        decimals_of(result.better.entry.value, result.worse.entry.value),
        result.comparison,
    )
    return {
        "paper": number(result.paper_difference, d, signed=True),
        "ours": number(comparison.mean, d, signed=True),
        "ci": interval(comparison.ci_low, comparison.ci_high, d),
        "pairs": str(comparison.n),
        "p": p_value(comparison.p_value),
    }


def claims_markdown(results: Sequence[ClaimResult], title: str, context: Context) -> str:
    lines = [f"# {title}", "", f"- Regenerate: `{context.regenerate}`", f"- {CLAIM_RULE}", ""]
    rows = []
    for r in results:
        f = _formatted(r)
        rows.append([r.claim.text, r.claim.better, r.claim.worse, f["paper"], f["ours"], f["ci"],
                     f["pairs"], f["p"], f"**{r.verdict.label}**", r.verdict.reason])  # fmt: skip
    lines += markdown_table(MARKDOWN_COLUMNS.split(" | "), rows)
    notes = [
        f"{r.claim.id}: {' '.join(filter(None, [r.matched_note, r.claim.notes]))}"
        for r in results
        if r.claim.notes or r.matched_note
    ]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def claims_latex(results: Sequence[ClaimResult], title: str, context: Context) -> str:
    rows = []
    for r in results:
        f = _formatted(r)
        rows.append([r.claim.text, f["paper"], f["ours"], f["ci"], f["pairs"], f["p"],
                     r.verdict.label])  # fmt: skip
    comments = [title, f"Regenerate: {context.regenerate}", CLAIM_RULE]
    return latex_tabular(comments, LATEX_COLUMNS, rows)


def claims_csv(results: Sequence[ClaimResult]) -> str:
    rows = [
        {
            "id": r.claim.id,
            "text": r.claim.text,
            "better": r.claim.better,
            "worse": r.claim.worse,
            "paper_difference": r.paper_difference,
            "pairs": r.comparison.n,
            "difference": r.comparison.mean,
            "ci_low": r.comparison.ci_low,
            "ci_high": r.comparison.ci_high,
            "p_value": r.comparison.p_value,
            "verdict": r.verdict.label,
            "reason": r.verdict.reason,
            "better_runs": ";".join(run.name for run in r.better.runs),
            "worse_runs": ";".join(run.name for run in r.worse.runs),
        }  # fmt: skip
        for r in results
    ]
    return csv_text(rows, CSV_COLUMNS)
