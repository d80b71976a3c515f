"""What the entry point refuses before Hydra starts, in one line with exit 2: flags that describe
one run given with ``-m``, the Hydra keys the suite replaces, a paper sweep without ``-m``, and
composition mistakes (a paper-file typo, ``paper=`` without ``+``, key typos, keys a custom
optimizer needs ``+`` for) — each with the way out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli import command_line_problem, run_sweep
from experiments.config_checks import ConfigError, check_overrides
from tests.experiments.cli import train_env


@pytest.mark.parametrize("flag", ["--cfg=job", "--info", "--help", "-c"])
def test_flags_of_one_run_do_not_combine_with_a_sweep(flag: str) -> None:
    problem = command_line_problem(["-m", "optimizer=adam,radam", flag], multirun=True)
    assert problem is not None and "-m" in problem and "scripts.sweep_plan" in problem


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.sweep.dir", "+hydra.sweep.subdir"])
def test_hydra_keys_the_suite_replaces_are_refused_naming_runs_dir(key: str) -> None:
    for multirun in (False, True):
        problem = command_line_problem([f"{key}=somewhere"], multirun=multirun)
        assert problem is not None and "runs_dir" in problem


def test_a_paper_sweep_without_m_says_how_to_launch_it() -> None:
    problem = command_line_problem(["+paper=demo/digits"], multirun=False)
    assert problem is not None
    assert "-m +paper=demo/digits" in problem and "scripts.sweep_plan" in problem
    assert command_line_problem(["-m", "+paper=demo/digits"], multirun=True) is None


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["+paper=radam/cifar10_sdg"], "did you mean cifar10_sgd"),
        (["paper=demo/digits"], "+paper=<option>"),
        (["optimiser=adam,radam"], "did you mean optimizer?"),
        (["optimizer=adam,radamx"], "did you mean radam"),
    ],
)
def test_a_sweep_composition_mistake_is_one_line_with_the_way_out(
    arguments: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_sweep(["-m", *arguments, f"runs_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and said in err, err


def test_a_custom_optimizer_keyword_without_plus_says_to_add_it() -> None:
    overrides = ["optimizer=custom", "optimizer._target_=torch.optim.SGD", "optimizer.momentum=0.9"]
    with pytest.raises(ConfigError, match=r"write \+optimizer\.momentum=0\.9"):
        check_overrides(overrides)


def test_the_command_line_refusals_exit_2_in_one_line(tmp_path: Path) -> None:
    """Through the real entry point: one line on stderr, exit 2, nothing written."""
    for arguments in (["-m", "seed=1,2", "--cfg", "job"], ["hydra.run.dir=x"]):
        done = subprocess.run(
            [sys.executable, "-m", "experiments.train", *arguments], cwd=tmp_path,
            env=train_env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []
