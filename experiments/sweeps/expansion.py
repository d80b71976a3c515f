"""A sweep's jobs composed as Hydra composes them: each job's config is loaded from the master
config (``python -m experiments.train -m <overrides>`` composed in multirun mode) with the job's
override list, the way Hydra's launchers do, and named as ``experiments.runs.prepare`` names it.

The suite's launcher composes the jobs the sweeper hands it here; the entry point's pre-check
(``sweep_expansion``) composes the master config once and, under Hydra's basic sweeper, every job
of the grid, so that a mistake is one line before Hydra starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from experiments.config_checks import CONFIG_DIR
from experiments.runs.identity import RunIdentity
from experiments.sweeps.job import SweepJob

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass
class Job:
    """One run of a sweep: its override list, composed config, choices and identity."""

    overrides: list[str]
    cfg: DictConfig
    """The job's config without the ``hydra`` node (what ``experiments.lifecycle`` receives)."""
    choices: dict[str, Any]
    identity: RunIdentity

    def callable(self) -> SweepJob:
        container = OmegaConf.to_container(self.cfg, resolve=False)
        return SweepJob(container, tuple(self.overrides), dict(self.choices))


def compose_job(config_loader: Any, master: DictConfig, overrides: Sequence[str]) -> Job:
    """One job composed from the master config as a Hydra launcher composes it (≈ 0.1 s)."""
    job_cfg = config_loader.load_sweep_config(master, list(overrides))
    HydraConfig.instance().set_config(job_cfg)
    task_overrides = list(job_cfg.hydra.overrides.task)
    choices = dict(job_cfg.hydra.runtime.choices)
    cfg = OmegaConf.create(OmegaConf.to_container(job_cfg, resolve=False))
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    identity = RunIdentity.of(cfg, task_overrides, choices)
    return Job(task_overrides, cfg, choices, identity)


def is_tuner(master: DictConfig) -> bool:
    """Whether the sweeper decides as it goes (Optuna, …) rather than expanding a grid."""
    return master.hydra.sweeper.get("_target_") != BASIC_SWEEPER


def grid_overrides(master: DictConfig, config_loader: Any) -> list[list[str]]:
    """The jobs' override lists of Hydra's basic sweeper, as its ``sweep`` builds them: the
    sweeper's params first, then the command line's task overrides."""
    sweeper = master.hydra.sweeper
    params = OmegaConf.to_container(sweeper.params, resolve=False) if sweeper.params else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(master.hydra.overrides.task)
    parsed = OverridesParser.create(config_loader=config_loader).parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, sweeper.get("max_batch_size"))
    return [list(job) for batch in batches for job in batch]


@contextmanager
def sweep_expansion(
    overrides: Sequence[str], config_dir: Path = CONFIG_DIR, config_name: str = "train"
) -> Iterator[tuple[Any, DictConfig]]:
    """Hydra initialized on ``config_dir``, and the master config of ``-m <overrides>`` composed
    in multirun mode: ``(config_loader, master)``. Raises ``hydra.errors.HydraException`` (and
    its subclasses) on a bad override."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(
            config_dir=str(config_dir), version_base="1.3", job_name="train"
        ):
            config_loader = GlobalHydra.instance().config_loader()
            master = config_loader.load_configuration(
                config_name=config_name, overrides=list(overrides), run_mode=RunMode.MULTIRUN
            )
            yield config_loader, master
    finally:
        GlobalHydra.instance().clear()
