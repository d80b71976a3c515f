"""CIFAR-10 image classification: the RAdam, AdaBound and Adam-decay-blog recipes
(configs/task/cifar10_*.yaml; PAPERS.md §2–3).

Training batches come from one of two pipelines (``task.pipeline``): ``device`` keeps the
training set on the GPU and augments there (``data.cifar10_device``), ``dataloader`` augments
per sample in DataLoader workers (``data.cifar10_loader``); ``auto`` picks ``device`` on CUDA and
``dataloader`` otherwise. Evaluation splits are unaugmented and normalized: ``test`` (the
official test batch) and, when ``task.val_size`` > 0, ``val`` carved from the training set by
seed or from its tail (``task.val_split``). ``task.augment`` (crop + flip, default true) and
``task.normalization`` (``mean_std``: the repositories' statistics; ``unit``: x / 255, Keras'
usual scaling) serve the Keras-style LeNet-5 recipe.
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from data.cifar10 import VAL_SPLITS, load_cifar10, split_validation
from data.cifar10_augment import NORMALIZATIONS
from data.cifar10_device import DeviceCifarBatches
from data.cifar10_loader import CifarEvalBatches, loader_batches
from data.epoch_loader import default_num_workers
from experiments.config_checks import ConfigError
from experiments.tasks.base import BatchSource, Task

PIPELINES = ("auto", "device", "dataloader")


def choose_pipeline(name: str, device: torch.device) -> str:
    _require_choice("pipeline", name, PIPELINES)
    if name == "auto":
        return "device" if device.type == "cuda" else "dataloader"
    return name


def _require_choice(key: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"task.{key}={value!r} is invalid: one of {', '.join(allowed)}")


def train_source(
    cfg: DictConfig, images: torch.Tensor, labels: torch.Tensor, *, seed: int, device: torch.device
) -> BatchSource:
    """The training BatchSource of ``task.pipeline`` over uint8 N × 3 × 32 × 32 ``images`` (the
    real data, or synthetic data of the same shape in ``scripts.bench_train``)."""
    stats = NORMALIZATIONS[cfg.normalization]
    if choose_pipeline(cfg.pipeline, device) == "device":
        return DeviceCifarBatches(
            images,
            labels,
            cfg.batch_size,
            seed=seed,
            device=device,
            augment=cfg.augment,
            stats=stats,
        )
    workers = cfg.num_workers
    if workers is None:
        workers = default_num_workers(device, cap=4)
    pin = cfg.pin_memory if cfg.pin_memory is not None else device.type == "cuda"
    return loader_batches(
        images,
        labels,
        cfg.batch_size,
        seed=seed,
        num_workers=workers,
        pin_memory=pin,
        augment=cfg.augment,
        stats=stats,
    )


def build(cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device) -> Task:
    pipeline = choose_pipeline(cfg.pipeline, device)
    _require_choice("val_split", cfg.val_split, VAL_SPLITS)
    _require_choice("normalization", cfg.normalization, tuple(NORMALIZATIONS))
    if not isinstance(cfg.augment, bool):
        raise ConfigError(f"task.augment={cfg.augment!r} is invalid: true or false")
    stats = NORMALIZATIONS[cfg.normalization]
    data = load_cifar10(data_dir)
    try:
        (train_images, train_labels), val = split_validation(
            data.train_images, data.train_labels, cfg.val_size, cfg.val_split, seed
        )
    except ValueError as error:
        raise ConfigError(f"task.val_size={cfg.val_size!r} is invalid: {error}") from None

    train = train_source(cfg, train_images, train_labels, seed=seed, device=device)
    eval_device = device if pipeline == "device" else torch.device("cpu")

    splits = {"test": (data.test_images, data.test_labels)}
    if val is not None:
        splits = {"val": val, **splits}
    eval_splits = {
        name: CifarEvalBatches(
            images.to(eval_device), labels.to(eval_device), cfg.eval_batch_size, stats
        )
        for name, (images, labels) in splits.items()
    }
    return Task(
        model=instantiate(cfg.model),
        train=train,
        eval_splits=eval_splits,
        loss_fn=nn.CrossEntropyLoss(),
        epochs=cfg.epochs,
        headline=cfg.headline,
        mode=cfg.mode,
        checksums=data.checksums,
    )
