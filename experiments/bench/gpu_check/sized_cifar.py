"""CIFAR-10 recipes on fewer synthetic images, for the GPU check's tiny CPU mode.

``experiments.tasks.cifar10.synthetic`` always draws the real 50,000 training images (≈ 1 s and
400 MB per build on a CPU); the tiny mode points ``task.build`` here instead
(``task.build=scripts.gpu_check.sized_cifar.build +task.synthetic_images=48``), which builds the
same ClassificationTask through the same pipelines (``experiments.tasks.cifar10.train_source``)
and the same model on ``task.synthetic_images`` random uint8 images. ``scripts.bench_train``
picks a module's ``synthetic`` builder, so both names are the same function here.
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.cifar10.augment import NORMALIZATIONS
from data.cifar10.loader_pipeline import CifarEvalBatches
from experiments.tasks.cifar10 import train_source
from experiments.tasks.classification import ClassificationTask


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device
) -> ClassificationTask:
    count = int(cfg.synthetic_images)
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    stats = NORMALIZATIONS[cfg.normalization]
    return ClassificationTask(
        model=instantiate(cfg.model),
        train=train_source(cfg, images, labels, seed=seed, device=device),
        eval_sources={"test": CifarEvalBatches(images, labels, cfg.eval_batch_size, stats)},
        epochs=cfg.epochs,
        headline=cfg.headline,
        channels_last=bool(cfg.get("channels_last", False)),
    )


build = synthetic
