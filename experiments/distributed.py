"""Data-parallel training (torchrun, or several Slurm tasks through submitit).

``task.batch_size`` is the GLOBAL batch: each of the ``world_size`` ranks takes its contiguous
slice (``batch_size / world_size`` samples) of every global batch, so a run on any world size
that divides the batch sees the same samples in the same order as a single process, and can
resume on another such world size. DistributedDataParallel averages the gradients, which equals
the gradient of the mean loss over the global batch. With several ranks an incomplete last
global batch of an epoch is dropped. Rank 0 alone writes the run directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


SINGLE_PROCESS = World()


def _export_submitit_environment() -> None:
    """Inside a multi-task submitit job, set RANK/WORLD_SIZE/MASTER_* for env:// init."""
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and "RANK" not in os.environ:
        try:
            from submitit.helpers import TorchDistributedEnvironment

            TorchDistributedEnvironment().export()
        except RuntimeError:  # not inside a submitit job: nothing to export
            pass


def init_world(device_type: str) -> World:
    """Join the process group when launched with several ranks; a single process otherwise."""
    _export_submitit_environment()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE_PROCESS
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def all_reduce_sum(values: list[float], world: World) -> list[float]:
    if not world.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def broadcast_from_main(value: object, world: World) -> object:
    if not world.distributed:
        return value
    payload = [value]
    dist.broadcast_object_list(payload, src=0)
    return payload[0]


class RankSlice:
    """This rank's slice of each global batch of a BatchSource."""

    def __init__(self, source, world: World) -> None:
        self.source, self.world = source, world

    def __len__(self) -> int:
        full, total = len(self.source), getattr(self.source, "num_samples", None)
        batch = getattr(self.source, "batch_size", None)
        if self.world.distributed and total is not None and batch and total % batch:
            return full - 1
        return full

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        limit = len(self)
        for index, (inputs, targets) in enumerate(self.source.batches(epoch, start), start):
            if index >= limit:
                return
            share = len(targets) // self.world.world_size
            lo = self.world.rank * share
            yield inputs[lo : lo + share], targets[lo : lo + share]
