"""Markdown, CSV and LaTeX tables from rows of strings (CSV: rows of raw values)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "Δ": r"$\Delta$", "≤": r"$\le$", "≥": r"$\ge$", "<": r"$<$", ">": r"$>$",
    "–": "--", "—": "---", "×": r"$\times$", "·": r"$\cdot$", "−": "-",
}  # fmt: skip


def markdown_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(markdown_escape(item) for item in row) + " |" for row in rows]
    return lines


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A header line and one line per row; no comment lines, so any CSV reader parses it."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def latex_tabular(
    comments: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> str:
    """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``) headed by ``%`` comments."""
    lines = [f"% {line.replace('`', '')}" for line in comments]
    lines += [r"\begin{tabular}{l" + "r" * (len(columns) - 1) + "}", r"\toprule"]
    lines += [" & ".join(latex_escape(c) for c in columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(item) for item in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
