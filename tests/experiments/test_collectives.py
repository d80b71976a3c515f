"""The loop's collectives on two real gloo ranks: statistics summed on the run's device (ranks
may hold different keys: a rank without evaluation batches holds none), the first non-finite
update agreed by a MIN reduction, and a stop signal on one rank stopping both."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from experiments.distributed import World, agree, all_reduce_min, sum_statistics
from experiments.loop_meters import NO_DIVERGENCE, TrainMeter


def _rank(rank: int, init_file: str, results: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    world, device = World(rank, 2, rank), torch.device("cpu")
    try:
        mine = {"loss": torch.tensor(1.5 + rank, dtype=torch.float64), "count": 3.0 + rank}
        if rank == 1:
            mine = {"loss": torch.tensor(2.5, dtype=torch.float64), "bleu_match_1": 7.0}
        totals = sum_statistics(mine, world, device)
        first_bad = torch.tensor([NO_DIVERGENCE, 17][rank], dtype=torch.int64)
        meter = TrainMeter(device)
        meter.add(update=9 + rank, loss_sum=torch.tensor(float("nan") if rank else 1.0),
                  global_units=4, stats={})  # fmt: skip
        outcome = {
            "totals": totals,
            "first_bad": int(all_reduce_min(first_bad, world)),
            "stop": agree(rank == 1, world, device),
            "window": meter.read(world).diverged_at,
        }
        torch.save(outcome, Path(results) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_collectives_on_two_gloo_ranks(tmp_path: Path) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(_rank, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        outcome = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert outcome["totals"] == {"bleu_match_1": 7.0, "count": 3.0, "loss": 4.0}
        assert outcome["first_bad"] == 17
        assert outcome["stop"] is True
        assert outcome["window"] == 10, "rank 1's non-finite loss at update 10 stops both"
