"""The run's one writer: ``metrics.jsonl`` and the W&B mirror through ``log``, ``summary.json``
through ``finish``. Only rank 0 records; on the other ranks every call does nothing.

``open`` drops the events a resumed checkpoint had not seen, writes ``meta.json`` and a
``running`` summary, and starts the mirror (which uploads what W&B lacks of the kept events; a
``force=true`` launch, which starts the run afresh, starts a new W&B run). ``offset`` is the
length of ``metrics.jsonl`` that a checkpoint records: everything before it is flushed and on
disk.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

import torch
from omegaconf import DictConfig, OmegaConf

from experiments.distributed import World
from experiments.runs.meta import collect_meta
from experiments.runs.store import RunDirectory, read_json, write_json
from experiments.runs.wandb_mirror import WandbMirror
from experiments.tasks.contract import Task


class Recorder:
    def __init__(
        self,
        run: RunDirectory | None,
        summary: dict[str, Any],
        metrics: IO[str] | None = None,
        mirror: WandbMirror | None = None,
    ) -> None:
        self.run, self.summary, self.metrics, self.mirror = run, summary, metrics, mirror

    @classmethod
    def open(
        cls,
        run: RunDirectory,
        cfg: DictConfig,
        identity: dict[str, Any],
        task: Task,
        device: torch.device,
        world: World,
        metrics_offset: int,
    ) -> Recorder:
        summary = {**identity, "headline": {"metric": task.headline, "mode": task.mode}}
        if not world.is_main:
            return cls(None, summary)
        run.truncate_metrics(metrics_offset)
        if run.meta_path.exists() and read_json(run.meta_path) is None:
            copy = run.keep_corrupt_copy(run.meta_path)
            print(
                f"warning: {run.meta_path} was unreadable: kept as {copy.name}; the launch "
                "history starts again",
                file=sys.stderr,
            )
        write_json(run.meta_path, collect_meta(task, device, run.meta_path))
        write_json(run.summary_path, {**summary, "status": "running"})
        mirror = None
        if cfg.logger.wandb:
            config = OmegaConf.to_container(cfg, resolve=True)
            settings = dict(cfg.logger.wandb)
            mirror = WandbMirror.start(
                run.path, settings, config, identity, run.metrics_path, fresh=bool(cfg.force)
            )
        return cls(run, summary, open(run.metrics_path, "a"), mirror)

    def log(self, event: dict[str, Any]) -> None:
        if self.metrics is None:
            return
        self.metrics.write(json.dumps(event, allow_nan=True) + "\n")
        self.metrics.flush()
        if self.mirror is not None:
            self.mirror.log(event)

    def offset(self) -> int:
        """The length of ``metrics.jsonl``, after making its content durable (fsync)."""
        if self.metrics is None:
            return 0
        self.metrics.flush()
        os.fsync(self.metrics.fileno())
        return self.metrics.tell()

    def close(self) -> None:
        """Close ``metrics.jsonl``; events that a full disk kept from it are lost, and those
        after the last checkpoint are written again when the run resumes."""
        if self.metrics is not None:
            metrics, self.metrics = self.metrics, None
            try:
                metrics.close()
            except OSError:
                pass

    def finish(self, outcome: dict[str, Any], exit_code: int) -> dict[str, Any]:
        """Write ``summary.json`` (identity, headline and ``outcome``) and close the mirror."""
        self.close()
        summary = {**self.summary, **outcome}
        if self.run is not None:
            write_json(self.run.summary_path, summary)
        if self.mirror is not None:
            self.mirror.finish(summary, exit_code)
        return summary
