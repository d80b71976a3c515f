"""``make demo``'s quick mode end to end: analyses, the digits sweep, its table and figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.command_line import run_script


@pytest.mark.slow
def test_quick_demo_writes_its_table_and_figures(tmp_path: Path) -> None:
    runs, out = tmp_path / "runs", tmp_path / "results"
    done = run_script("demo", "--quick", "--launcher", "inline", "--runs", runs, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    demo = out / "demo"
    for name in ("digits.md", "claims.md", "groups.md", "groups.csv", "lr_heatmap.png"):
        assert (demo / name).stat().st_size > 0, name
    assert "python -m scripts.make_tables --runs" in (demo / "digits.md").read_text()
    assert (out / "analyses" / "variance.csv").is_file()
