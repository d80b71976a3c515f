"""Writing a matplotlib figure as the PNG + PDF pair every analysis produces."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402


def save_png_and_pdf(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Save ``fig`` as ``<out_dir>/<stem>.png`` (150 dpi) and ``.pdf``; return both paths.
    The PDF carries no creation date, so regenerating an unchanged figure changes no file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"]
    for path in paths:
        metadata = {"CreationDate": None} if path.suffix == ".pdf" else None
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata=metadata)
    return paths
