"""Data-parallel training (torchrun, or several Slurm tasks through submitit).

``task.batch_size`` is the GLOBAL batch: each of the ``world_size`` ranks takes a contiguous
slice of every global batch (``batch_size / world_size`` samples; an epoch's smaller last batch
is split as evenly as possible), so a run on any world size sees the same samples in the same
order as a single process, with the same number of steps per epoch, and can resume on any other
world size. Each rank's loss is its share of the global mean — (sum of its per-sample losses)
× world_size / (global batch) — so DistributedDataParallel's gradient average is exactly the
gradient of the single-process mean, even for uneven or empty slices. (BatchNorm statistics
stay per rank: models with BatchNorm match a single process only approximately.) Rank 0 alone
writes the run directory.
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
    """This rank's slice of each global batch of a BatchSource; ``global_size`` is the size of
    the global batch the latest slice came from."""

    def __init__(self, source, world: World) -> None:
        self.source, self.world = source, world
        self.global_size = 0

    def __len__(self) -> int:
        return len(self.source)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        for inputs, targets in self.source.batches(epoch, start):
            if not self.world.distributed:
                self.global_size = len(targets)
                yield inputs, targets
                continue
            share, extra = divmod(len(targets), self.world.world_size)
            rank = self.world.rank
            lo = rank * share + min(rank, extra)
            hi = lo + share + (1 if rank < extra else 0)
            self.global_size = len(targets)
            yield inputs[lo:hi], targets[lo:hi]


def rank_loss(mean_loss: Tensor, outputs: Tensor, samples: int, global_size: int, world: World):
    """This rank's share of the global batch's mean loss (see the module docstring)."""
    if not world.distributed:
        return mean_loss
    if samples == 0:
        return outputs.sum() * 0.0  # an empty slice: zero gradients, every parameter still used
    return mean_loss * (samples * world.world_size / global_size)
