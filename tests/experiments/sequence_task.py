"""A tiny sequence task defined inside the tests, to show that new kinds of task plug into the
unchanged loop: token units with padding, a recurrent state carried across batches (and saved in
checkpoints), varying batch lengths, a budget in updates, gradient clipping, DDP sharding by
whole batches and (with ``task.average_last``) checkpoint averaging.

The data is a noisy cyclic token stream (token i+1 = token i + 1 mod V, replaced by a random
token with probability ``noise``) cut into ``lanes`` parallel streams of ``rows`` rows. Batch
``g`` of an epoch is chunk ``g // lanes`` of lane ``g % lanes``; each chunk's length is drawn
from the seed (3 to 6 tokens), and the epoch's last chunk of a lane may be shorter, padded. Each
lane carries its own GRU hidden state from one of its chunks to the next (reset at each epoch),
so one process that accumulates ``lanes`` batches per update trains exactly like ``lanes`` ranks
that each take every ``lanes``-th batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from data.seeding import derived_generator
from experiments.distributed import SINGLE_PROCESS, World
from experiments.tasks.contract import Batch, Budget, CheckpointAverage, Evaluation, Task

PAD = 0


@dataclass
class TokenBatch(Batch):
    inputs: Tensor
    targets: Tensor
    lane: int = 0

    def to(self, device: torch.device) -> TokenBatch:
        return replace(self, inputs=self.inputs.to(device), targets=self.targets.to(device))


class TinyRecurrentLM(nn.Module):
    def __init__(self, vocab: int, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width, padding_idx=PAD)
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.out = nn.Linear(width, vocab)

    def forward(self, tokens: Tensor, hidden: Tensor | None) -> tuple[Tensor, Tensor]:
        output, hidden = self.rnn(self.embed(tokens), hidden)
        return self.out(output), hidden


def noisy_cycle(length: int, vocab: int, noise: float, generator: torch.Generator) -> Tensor:
    """Tokens 1..vocab-1 (0 is padding) counting up cyclically, some replaced at random."""
    counting = torch.arange(length) % (vocab - 1) + 1
    random = torch.randint(1, vocab, (length,), generator=generator)
    flip = torch.rand(length, generator=generator) < noise
    return torch.where(flip, random, counting)


class TinySequenceTask(Task):
    unit = "tokens"
    headline = "val/ppl"
    eval_splits = ("val",)

    def __init__(self, cfg: DictConfig, seed: int) -> None:
        self.vocab, self.lanes, self.rows = cfg.vocab, cfg.lanes, cfg.rows
        self.seed = seed
        generator = torch.Generator().manual_seed(seed)
        tokens = noisy_cycle(cfg.lanes * cfg.rows * cfg.lane_length + 1, cfg.vocab, 0.1, generator)
        self.lane_tokens = tokens[:-1].reshape(cfg.lanes, cfg.rows, cfg.lane_length)
        self.val_tokens = noisy_cycle(cfg.rows * 17, cfg.vocab, 0.1, generator).reshape(
            cfg.rows, 17
        )
        self.model = TinyRecurrentLM(cfg.vocab, cfg.width)
        self.budget = Budget(updates=cfg.updates)
        average = cfg.get("average_last")
        self.average = CheckpointAverage(last=average) if average else None
        self.hidden: dict[int, Tensor] = {}

    def _chunks(self, epoch: int) -> list[tuple[int, int]]:
        """(start, stop) of each chunk of a lane in this epoch, lengths drawn from the seed."""
        generator = derived_generator("tiny-sequence", self.seed, epoch)
        bounds, start, length = [], 0, self.lane_tokens.shape[-1] - 1
        while start < length:
            stop = start + int(torch.randint(3, 7, (1,), generator=generator))
            stop = length if stop > length - 2 else stop  # the last chunk has 2 tokens at least
            bounds.append((start, stop))
            start = stop
        return bounds

    def _batch(self, epoch: int, index: int, chunks: list[tuple[int, int]]) -> TokenBatch:
        lane, (start, stop) = index % self.lanes, chunks[index // self.lanes]
        rows = self.lane_tokens[lane]
        inputs, targets = rows[:, start:stop], rows[:, start + 1 : stop + 1].clone()
        if stop == chunks[-1][1]:  # the epoch's last chunk: its last position is padding
            targets[:, -1] = PAD
        units = int((targets != PAD).sum())
        return TokenBatch(units, units, inputs=inputs, targets=targets, lane=lane)

    def micro_batches_per_epoch(self, epoch: int, world: World) -> int:
        return -(-len(self._chunks(epoch)) * self.lanes // world.world_size)

    def begin_epoch(self, epoch: int) -> None:
        self.hidden = {}

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[TokenBatch]:
        chunks = self._chunks(epoch)
        count = len(chunks) * self.lanes
        for step in range(start, self.micro_batches_per_epoch(epoch, world)):
            indices = [step * world.world_size + rank for rank in range(world.world_size)]
            batches = [self._batch(epoch, g, chunks) for g in indices if g < count]
            total = sum(batch.units for batch in batches)
            mine = step * world.world_size + world.rank
            if mine < count:
                yield replace(self._batch(epoch, mine, chunks), global_units=total)
            else:  # no batch left for this rank: an empty one that still uses every parameter
                yield replace(batches[0], units=0, global_units=total, lane=-1)

    def train_step(self, model: nn.Module, batch: TokenBatch) -> tuple[Tensor, dict[str, Tensor]]:
        hidden = self.hidden.get(batch.lane)
        if hidden is not None:
            hidden = hidden.to(batch.inputs.device)
        logits, new_hidden = model(batch.inputs, hidden)
        loss = F.cross_entropy(
            logits.float().reshape(-1, self.vocab), batch.targets.reshape(-1),
            ignore_index=PAD, reduction="sum",
        )  # fmt: skip
        if batch.units == 0:
            return loss * 0.0, {}
        self.hidden[batch.lane] = new_hidden.detach()
        return loss, {}

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        return {"train/loss": means["loss"], "train/ppl": math.exp(means["loss"])}

    def eval_batches(self, split: str, world: World) -> Iterator[TokenBatch]:
        """Four chunks of 4 tokens of each validation row, the hidden state carried along."""
        self.eval_hidden: Tensor | None = None
        for start in range(0, 16, 4):
            inputs = self.val_tokens[:, start : start + 4]
            targets = self.val_tokens[:, start + 1 : start + 5]
            yield TokenBatch(targets.numel(), targets.numel(), inputs=inputs, targets=targets)

    def eval_step(
        self, model: nn.Module, batch: TokenBatch, evaluation: Evaluation
    ) -> dict[str, Tensor | float]:
        logits, self.eval_hidden = model(batch.inputs, self.eval_hidden)
        loss = F.cross_entropy(logits.float().reshape(-1, self.vocab), batch.targets.reshape(-1),
                               reduction="sum")  # fmt: skip
        return {"loss": loss, "tokens": batch.units}

    def eval_metrics(
        self, split: str, totals: Mapping[str, float], evaluation: Evaluation
    ) -> dict[str, float]:
        mean = totals["loss"] / totals["tokens"]
        return {f"{split}/loss": mean, f"{split}/ppl": math.exp(mean)}

    def state_dict(self) -> dict[str, Any]:
        return {"hidden": {str(lane): h.cpu() for lane, h in self.hidden.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.hidden = {int(lane): h for lane, h in state["hidden"].items()}


def build(
    cfg: DictConfig,
    *,
    seed: int,
    data_dir: str,
    device: torch.device,
    world: World = SINGLE_PROCESS,
) -> TinySequenceTask:
    """The contract's builder (``world`` may be left out by tests that rebuild the task by
    hand: every world size can train it)."""
    task = TinySequenceTask(cfg, seed)
    task.model.to(device)
    return task
