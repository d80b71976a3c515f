"""The command line of ``python -m experiments.train [overrides]`` and ``optrepro-train``.

A single run composes its config with Hydra and calls ``experiments.lifecycle.run_one``. A sweep
(``-m``) is Hydra's own multirun: its sweeper (the basic grid, or a tuner such as
``hydra/sweeper=optuna``) hands batches of jobs to the suite's launcher
(``hydra_plugins/optrepro_launcher``, chosen by ``launcher=local|inline|slurm``). What Hydra
cannot say in one line is checked here first: flags that do not combine with ``-m``, Hydra keys
the suite replaces, a paper sweep given without ``-m``, and every composition mistake (one line,
exit 2). The exit code of a sweep comes from its runs' outcomes (``experiments.sweeps.session``).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Sequence

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from experiments.config_checks import CONFIG_DIR, ConfigError, check_overrides
from experiments.lifecycle import run_one
from experiments.sweeps import session
from experiments.sweeps.precheck import check_sweep

_exit_codes: list[int] = []
SINGLE_RUN_FLAGS = ("--cfg", "-c", "--info", "-i", "--help", "-h", "--hydra-help", "--resolve")
REPLACED_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir")


@hydra.main(config_path=str(CONFIG_DIR), config_name="train", version_base="1.3")
def hydra_entry(cfg: DictConfig) -> int:
    hydra_cfg = HydraConfig.get()
    code = run_one(cfg, list(hydra_cfg.overrides.task), dict(hydra_cfg.runtime.choices))
    _exit_codes.append(code)
    return code


def command_line_problem(arguments: Sequence[str], multirun: bool) -> str | None:
    """What the command line asks that the suite refuses before Hydra starts, or None."""
    if multirun:
        flag = next((a for a in arguments if a.split("=")[0] in SINGLE_RUN_FLAGS), None)
        if flag is not None:
            return (
                f"{flag} does not combine with -m: it describes one run (drop -m: "
                f"`python -m experiments.train {flag} <overrides>`); to see what a sweep would "
                "launch: `python -m scripts.sweep_plan <overrides>`"
            )
    for argument in arguments:
        key = argument.lstrip("+~").split("=")[0]
        if key in REPLACED_KEYS:
            return (
                f"{key} is set by the suite: runs go to <runs_dir>/<sweep>/<task>/... (set "
                "runs_dir=<folder>, and sweep=<name> for a sweep)"
            )
    if not multirun:
        paper = next((a for a in arguments if a.lstrip("+").startswith("paper=")), None)
        if paper is not None:
            return (
                f"{paper.lstrip('+')} is a sweep: launch it with -m "
                f"(`python -m experiments.train -m +{paper.lstrip('+')}`; "
                f"`python -m scripts.sweep_plan +{paper.lstrip('+')}` shows its runs)"
            )
    return None


def _completion_line() -> None:
    """Hydra's bash completion strips ``python <script>`` from the line it completes; a line
    typed as ``python -m experiments.train`` becomes the console script's form."""
    line = os.environ.get("COMP_LINE")
    if line is not None:
        os.environ["COMP_LINE"] = re.sub(
            r"^\s*\S*python[3]?\s+-m\s+experiments\.train\b", "optrepro-train", line
        )
    if sys.argv[0].endswith(("train.py", "cli.py")):
        sys.argv[0] = "optrepro-train"  # completion installs for the console script


def _stop_with_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_sweep(arguments: list[str]) -> int:
    """``-m <arguments>``: pre-checks, then Hydra's multirun; the exit code from the runs'
    outcomes (1 also when the sweep was stopped)."""
    try:
        check_sweep(arguments)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C stops the runs cleanly
    signal.signal(signal.SIGTERM, _stop_with_keyboard_interrupt)
    argv, sys.argv = sys.argv, [sys.argv[0], *arguments]
    session.current = None
    code = 0
    try:
        hydra_entry()
    except SystemExit as stopped:
        code = stopped.code if isinstance(stopped.code, int) else 1
    except KeyboardInterrupt:
        code = 1
    finally:
        sys.argv = argv
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if session.current is not None:
        closed = session.current.close()
        code = closed if closed != 0 else code
    return code


def main() -> None:
    arguments = sys.argv[1:]
    multirun = any(argument in ("-m", "--multirun") for argument in arguments)
    if any(a in ("-sc", "--shell-completion") or a.startswith("--shell-completion=")
           for a in arguments):  # fmt: skip
        _completion_line()
        hydra_entry()
        return
    problem = command_line_problem(arguments, multirun)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    if multirun:
        sys.exit(run_sweep(arguments))
    if arguments and not any(a.startswith("-") for a in arguments):
        try:
            check_overrides(arguments)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
    hydra_entry()
    codes = set(_exit_codes)
    sys.exit(1 if 1 in codes else 2 if 2 in codes else 0)
