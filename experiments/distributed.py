"""Data-parallel training (torchrun, or several Slurm tasks through submitit).

Each rank trains on its share of every step (the task decides how to shard: image rows, BPTT
columns, whole token buckets; ``experiments.tasks.contract``). The loop divides each rank's summed
loss by the units of the whole update on all ranks and multiplies by the world size, so
DistributedDataParallel's gradient average is exactly the gradient of the single-process mean.
Rank 0 alone writes the run directory.

Every collective reduces tensors on the run's device (NCCL accepts CUDA tensors only; gloo takes
CPU tensors, and CUDA ones too), and the loop calls them at log points and evaluations only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
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


def init_world(device_type: str, backend: str | None = None) -> World:
    """Join the process group when launched with several ranks; a single process otherwise.
    The backend is NCCL on CUDA and gloo on CPU unless ``backend`` (or ``$OPTREPRO_BACKEND``)
    names one: gloo also reduces CUDA tensors, which lets two ranks share one GPU."""
    _export_submitit_environment()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return SINGLE_PROCESS
    if not dist.is_initialized():
        default = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend or os.environ.get("OPTREPRO_BACKEND") or default)
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def all_reduce_sum(tensor: Tensor, world: World) -> Tensor:
    """The element-wise sum over ranks of a tensor on the run's device (in place)."""
    if world.distributed:
        dist.all_reduce(tensor)
    return tensor


def all_reduce_min(tensor: Tensor, world: World) -> Tensor:
    if world.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return tensor


def sum_statistics(
    totals: Mapping[str, Tensor | float], world: World, device: torch.device
) -> dict[str, float]:
    """Sum named statistics (device tensors or host numbers) over ranks in one collective and
    read them on the host once. Ranks may hold different keys (a rank without evaluation batches
    holds none): missing ones are zero."""
    keys: Sequence[str] = sorted(totals)
    if world.distributed:
        gathered: list[list[str] | None] = [None] * world.world_size
        dist.all_gather_object(gathered, list(keys))
        keys = sorted({key for names in gathered if names for key in names})
    if not keys:
        return {}
    stacked = torch.stack(
        [torch.as_tensor(totals.get(key, 0.0), dtype=torch.float64, device=device) for key in keys]
    )
    values = all_reduce_sum(stacked, world).tolist()
    return dict(zip(keys, values, strict=True))


def broadcast_from_main(value: object, world: World) -> object:
    if not world.distributed:
        return value
    payload = [value]
    dist.broadcast_object_list(payload, src=0)
    return payload[0]


def agree(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (a stop signal on one rank stops all)."""
    if not world.distributed:
        return flag
    tensor = torch.tensor([float(flag)], device=device)
    return bool(all_reduce_sum(tensor, world).item())
