"""The launcher Hydra instantiates for ``-m``: a thin adapter from Hydra's ``Launcher`` interface
to ``experiments.sweeps.batch``, which does the work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class SuiteLauncher(Launcher):
    def __init__(self, kind: str, **params: Any) -> None:
        self.kind, self.params = kind, params
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from experiments.sweeps.batch import launch_batch

        assert self.config is not None and self.hydra_context is not None
        loader = self.hydra_context.config_loader
        objectives = launch_batch(self.kind, self.params, loader, self.config, job_overrides)
        returns = []
        for overrides, value in zip(job_overrides, objectives, strict=True):
            ret = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
            ret.return_value = value
            returns.append(ret)
        return returns
