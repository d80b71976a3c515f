"""CIFAR-10 recipes on fewer synthetic images, for the tiny CPU mode: the real synthetic builder
draws 50,000 images (≈ 1 s and 400 MB per build on a CPU); ``task.build`` points here instead
(``+task.synthetic_images=48``): the same task, pipelines and model on fewer images."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.cifar10.augment import NORMALIZATIONS
from data.cifar10.loader_pipeline import CifarEvalBatches
from experiments.distributed import World
from experiments.tasks.cifar10 import train_source
from experiments.tasks.classification import ClassificationTask, ready


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> ClassificationTask:
    count = int(cfg.synthetic_images)
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    stats = NORMALIZATIONS[cfg.normalization]
    train = train_source(cfg, images, labels, seed=seed, device=device)
    test = CifarEvalBatches(images, labels, cfg.eval_batch_size, stats)
    task = ClassificationTask(
        model=instantiate(cfg.model), train=train, eval_sources={"test": test}, epochs=cfg.epochs,
        headline=cfg.headline, channels_last=bool(cfg.get("channels_last", False)),
    )  # fmt: skip
    return ready(task, device, world)


build = synthetic  # build_run(synthetic=True) picks the module's synthetic builder
