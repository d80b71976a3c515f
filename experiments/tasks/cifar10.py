"""CIFAR-10 image classification: the RAdam, AdaBound and Adam-decay-blog recipes
(configs/task/cifar10_*.yaml; docs/papers.md §2–3).

Training batches come from one of two pipelines (``task.pipeline``): ``device`` keeps the
training set on the GPU and augments there (``data.cifar10.device_pipeline``), ``dataloader``
augments per sample in DataLoader workers (``data.cifar10.loader_pipeline``); ``auto`` picks
``device`` on CUDA and ``dataloader`` otherwise. Evaluation splits are unaugmented and
normalized: ``test`` (the official test batch) and, when ``task.val_size`` > 0, ``val`` carved
from the training set by seed or from its tail (``task.val_split``). ``task.augment`` (crop +
flip, default true) and ``task.normalization`` (``mean_std``: the repositories' statistics;
``unit``: x / 255, Keras' usual scaling) serve the Keras-style LeNet-5 recipe.
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.cifar10.augment import NORMALIZATIONS
from data.cifar10.device_pipeline import DeviceCifarBatches
from data.cifar10.files import VAL_SPLITS, load_cifar10, require_files, split_validation
from data.cifar10.loader_pipeline import CifarEvalBatches, loader_batches
from data.epoch_loader import default_num_workers
from experiments.config_checks import ConfigError
from experiments.distributed import World
from experiments.tasks.classification import ClassificationTask, RowSource, ready

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
) -> RowSource:
    """The training RowSource of ``task.pipeline`` over uint8 N × 3 × 32 × 32 ``images`` (the
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


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> ClassificationTask:
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
    eval_sources = {
        name: CifarEvalBatches(
            images.to(eval_device), labels.to(eval_device), cfg.eval_batch_size, stats
        )
        for name, (images, labels) in splits.items()
    }
    task = ClassificationTask(
        model=instantiate(cfg.model),
        train=train,
        eval_sources=eval_sources,
        epochs=cfg.epochs,
        headline=cfg.headline,
        channels_last=bool(cfg.get("channels_last", False)),
        checksums=data.checksums,
    )
    return ready(task, device, world)


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """DataUnavailable, as ``build`` would raise it, when a CIFAR-10 batch file is missing."""
    require_files(data_dir)


TRAIN_SIZE, TEST_SIZE = 50_000, 10_000


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> ClassificationTask:
    """The recipe on random uint8 images of CIFAR-10's shapes and sizes, through the real
    pipelines (for ``scripts.bench_train``; nothing is read from ``data_dir``)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (TRAIN_SIZE, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (TRAIN_SIZE,), generator=generator)
    test_images, test_labels = images[:TEST_SIZE], labels[:TEST_SIZE]
    stats = NORMALIZATIONS[cfg.normalization]
    task = ClassificationTask(
        model=instantiate(cfg.model),
        train=train_source(cfg, images, labels, seed=seed, device=device),
        eval_sources={
            "test": CifarEvalBatches(test_images, test_labels, cfg.eval_batch_size, stats)
        },
        epochs=cfg.epochs,
        headline=cfg.headline,
        channels_last=bool(cfg.get("channels_last", False)),
    )
    return ready(task, device, world)
