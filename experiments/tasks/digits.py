"""scikit-learn's bundled 8×8 digits: the offline default task (``docs/architecture.md``)."""

from __future__ import annotations

import hashlib

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.digits.files import split_digits
from data.tensor_batches import TensorBatches
from experiments.distributed import World
from experiments.tasks.classification import ClassificationTask, ready


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> ClassificationTask:
    splits = split_digits(seed, cfg.val_fraction, cfg.test_fraction)
    digest = hashlib.sha256()
    for name in ("train", "val", "test"):
        for tensor in splits[name]:
            digest.update(tensor.numpy().tobytes())
    task = ClassificationTask(
        model=instantiate(cfg.model),
        train=TensorBatches(*splits["train"], cfg.batch_size, shuffle=True, seed=seed),
        eval_sources={
            name: TensorBatches(*splits[name], cfg.eval_batch_size, shuffle=False)
            for name in ("val", "test")
        },
        epochs=cfg.epochs,
        headline=cfg.headline,
        checksums={"digits(sklearn)": digest.hexdigest()},
        channels_last=bool(cfg.get("channels_last", False)),
    )
    return ready(task, device, world)
