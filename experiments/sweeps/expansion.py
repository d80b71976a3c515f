"""A sweep's jobs, expanded exactly as Hydra expands ``python -m experiments.train -m <overrides>``.

Hydra composes the master config in multirun mode, its BasicSweeper expands
``hydra.sweeper.params`` (a paper file's grid) together with the command line's sweep syntax
(``seed=1,2,3``) into one override list per job, and each job's config is composed from the
master the way a launcher composes it. Both the sweep controller (``experiments.sweeps``) and
``scripts/sweep_plan.py`` use this, so what a plan predicts is what a launch does.
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
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from experiments.config_checks import CONFIG_DIR
from experiments.runs.identity import RunIdentity

_BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass
class Job:
    """One run of a sweep: its override list, composed config, choices and identity."""

    overrides: list[str]
    cfg: DictConfig
    """The job's config without the ``hydra`` node (what ``experiments.train`` receives)."""
    choices: dict[str, Any]
    identity: RunIdentity


def _job_overrides(master: DictConfig, config_loader: Any) -> list[list[str]]:
    """The jobs' override lists, as BasicSweeper.sweep builds them: the sweeper's params first,
    then the command line's task overrides (a key given in both takes the command line's)."""
    sweeper = master.hydra.sweeper
    if sweeper.get("_target_") != _BASIC_SWEEPER:
        raise HydraException(f"hydra.sweeper is {sweeper.get('_target_')}: only Hydra's basic")
    params = OmegaConf.to_container(sweeper.params, resolve=False) if sweeper.params else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(master.hydra.overrides.task)
    parsed = OverridesParser.create(config_loader=config_loader).parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, sweeper.get("max_batch_size"))
    return [list(job) for batch in batches for job in batch]


class SweepExpansion:
    """The master config and the jobs of a sweep; ``job(overrides)`` composes one (≈ 0.1 s)."""

    def __init__(self, config_loader: Any, master: DictConfig, config_dir: Path) -> None:
        self._config_loader = config_loader
        self.master = master
        self.config_dir = Path(config_dir)
        self.jobs = _job_overrides(master, config_loader)

    @property
    def launcher(self) -> str:
        return str(self.master.launcher.name)

    def job(self, overrides: Sequence[str]) -> Job:
        """One job composed as a launcher composes it, named as ``experiments.runs.prepare``
        names it."""
        job_cfg = self._config_loader.load_sweep_config(self.master, list(overrides))
        HydraConfig.instance().set_config(job_cfg)
        task_overrides = list(job_cfg.hydra.overrides.task)
        choices = dict(job_cfg.hydra.runtime.choices)
        cfg = OmegaConf.create(OmegaConf.to_container(job_cfg, resolve=False))
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        identity = RunIdentity.of(cfg, task_overrides, choices)
        return Job(task_overrides, cfg, choices, identity)


@contextmanager
def sweep_expansion(
    overrides: Sequence[str], config_dir: Path = CONFIG_DIR
) -> Iterator[SweepExpansion]:
    """Hydra initialized on ``config_dir`` with the master config of
    ``python -m experiments.train -m <overrides>``, composed in multirun mode as Hydra does.
    Raises ``hydra.errors.HydraException`` (and its subclasses) on a bad override."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3", job_name="train"):
        config_loader = GlobalHydra.instance().config_loader()
        master = config_loader.load_configuration(
            config_name="train", overrides=list(overrides), run_mode=RunMode.MULTIRUN
        )
        yield SweepExpansion(config_loader, master, config_dir)
