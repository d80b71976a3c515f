"""One job of a sweep, as a picklable callable: submitit sends it to a local process or a Slurm
array task, which composes the job's config from its override list and trains the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SweepJob:
    overrides: tuple[str, ...]
    config_dir: str

    def __call__(self) -> int:
        from hydra import compose, initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        from omegaconf import open_dict

        from experiments.lifecycle import run_one

        GlobalHydra.instance().clear()
        with initialize_config_dir(
            config_dir=self.config_dir, version_base="1.3", job_name="train"
        ):
            cfg = compose("train", overrides=list(self.overrides), return_hydra_config=True)
        choices = dict(cfg.hydra.runtime.choices)
        with open_dict(cfg):
            del cfg["hydra"]
        return run_one(cfg, list(self.overrides), choices)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Requeue this job as it is (submitit calls this on SIGUSR2, after the run's own handler
        wrote its checkpoint): the requeued task resumes from that checkpoint."""
        import submitit

        return submitit.helpers.DelayedSubmission(self)
