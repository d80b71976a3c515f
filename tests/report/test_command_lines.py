"""The commands whose real runs are slow tests (the demo, the ablation figure) still start and
describe themselves in the fast suite; the other commands' tests run them for real."""

from __future__ import annotations

import pytest

from tests.report.command_line import run_script


@pytest.mark.parametrize("name", ["demo", "plot_ablation"])
def test_help(name: str) -> None:
    done = run_script(name, "--help", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and not done.stderr
