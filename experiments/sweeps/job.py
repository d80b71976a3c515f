"""One job of a sweep, as a picklable callable: submitit sends it to a local process or a Slurm
array task, where it trains the run of the job's composed config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SweepJob:
    config: dict[str, Any]
    """The job's composed config (unresolved, without the ``hydra`` node), as a container."""
    overrides: tuple[str, ...]
    choices: dict[str, Any]

    def __call__(self) -> int:
        from omegaconf import OmegaConf

        from experiments.lifecycle import run_one

        return run_one(OmegaConf.create(self.config), list(self.overrides), dict(self.choices))

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Requeue this job as it is (submitit calls this on SIGUSR2, after the run's own handler
        wrote its checkpoint): the requeued task resumes from that checkpoint."""
        import submitit

        return submitit.helpers.DelayedSubmission(self)
