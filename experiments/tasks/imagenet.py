"""ImageNet-1k classification: the RAdam paper's ResNet-18 recipe (task=imagenet_resnet18).

The evaluation split is named ``test`` although it reads the ILSVRC2012 validation folder: the
paper's "test" accuracy is the val-set top-1, and the same name keeps the tables uniform with
the CIFAR tasks (``test/acc``).
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.epoch_loader import EpochLoader, default_num_workers
from data.imagenet.files import CROP, ImageNetEval, ImageNetTrain, require_folders, scan
from data.synthetic import CyclicBatches
from experiments.distributed import World
from experiments.tasks.classification import ClassificationTask, ready


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> ClassificationTask:
    files = scan(data_dir)
    workers = cfg.num_workers
    if workers is None:
        workers = default_num_workers(device, cap=16)
    pin = cfg.pin_memory if cfg.pin_memory is not None else device.type == "cuda"
    loading = {"num_workers": workers, "pin_memory": pin}
    train = EpochLoader(
        ImageNetTrain(files.train, seed),
        len(files.train),
        cfg.batch_size,
        shuffle=True,
        seed=seed,
        **loading,
    )
    test = EpochLoader(
        ImageNetEval(files.val), len(files.val), cfg.eval_batch_size, shuffle=False, **loading
    )
    task = ClassificationTask(
        model=instantiate(cfg.model),
        train=train,
        eval_sources={"test": test},
        epochs=cfg.epochs,
        headline=cfg.headline,
        channels_last=bool(cfg.get("channels_last", False)),
        checksums=files.checksums,
    )
    return ready(task, device, world)


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """DataUnavailable, as ``build`` would raise it, when a split folder is missing (the class
    folders are listed by ``build``)."""
    require_folders(data_dir)


TRAIN_SIZE, CLASSES = 1_281_167, 1000


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> ClassificationTask:
    """The recipe on random 224 × 224 inputs (JPEG decoding is not measured), an epoch of
    ILSVRC2012's length (for ``scripts.bench_train``)."""
    shape = (3, CROP, CROP)
    train = CyclicBatches(shape, CLASSES, cfg.batch_size, TRAIN_SIZE, seed=seed)
    test = CyclicBatches(shape, CLASSES, cfg.eval_batch_size, cfg.eval_batch_size, seed=seed + 1)
    task = ClassificationTask(
        model=instantiate(cfg.model),
        train=train,
        eval_sources={"test": test},
        epochs=cfg.epochs,
        headline=cfg.headline,
        channels_last=bool(cfg.get("channels_last", False)),
    )
    return ready(task, device, world)
