"""A sweep's command line checked before Hydra starts it: the master config composes (one line
with the closest options for a typo), a tuner's sweep has its own name and waits for its runs,
and under the basic sweeper every job of the grid composes (Hydra's basic sweeper composes all
of them before launching, and would stop at the first bad one with a multi-line exit 1)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra._internal.utils import get_args_parser
from hydra.errors import HydraException

from experiments.config_checks import CONFIG_DIR, ConfigError, check_writable, composition_error
from experiments.sweeps.checks import check_tuning_sweep
from experiments.sweeps.expansion import compose_job, grid_overrides, is_tuner, sweep_expansion


def hydra_arguments(arguments: Sequence[str]) -> tuple[list[str], Path, str]:
    """The overrides, primary config folder and config name of a command line, as Hydra reads
    them (``--config-path``/``-cp``, ``--config-name``/``-cn``; ``--config-dir``/``-cd`` adds a
    folder to the search path)."""
    parsed = get_args_parser().parse_args([a for a in arguments if a not in ("-m", "--multirun")])
    overrides = list(parsed.overrides)
    if parsed.config_dir:
        overrides.append(f"hydra.searchpath=[file://{Path(parsed.config_dir).resolve()}]")
    config_dir = Path(parsed.config_path).resolve() if parsed.config_path else CONFIG_DIR
    return overrides, config_dir, parsed.config_name or "train"


def check_sweep(arguments: Sequence[str]) -> None:
    """``ConfigError`` (one line) when the sweep of ``-m <arguments>`` cannot start."""
    overrides, config_dir, config_name = hydra_arguments(arguments)
    try:
        with sweep_expansion(overrides, config_dir, config_name) as (config_loader, master):
            check_writable(str(master.runs_dir))  # Hydra's sweeper writes there first
            if is_tuner(master):
                check_tuning_sweep(master)
                return
            for job in grid_overrides(master, config_loader):
                try:
                    compose_job(config_loader, master, job)
                except HydraException as failure:
                    raise ConfigError(composition_error(failure, job)) from None
    except HydraException as failure:
        raise ConfigError(composition_error(failure, overrides)) from None
