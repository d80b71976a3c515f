"""ImageNet-1k classification: the RAdam paper's ResNet-18 recipe (task=imagenet_resnet18).

The evaluation split is named ``test`` although it reads the ILSVRC2012 validation folder: the
paper's "test" accuracy is the val-set top-1, and the same name keeps the tables uniform with
the CIFAR tasks (``test/acc``).
"""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from data.epoch_loader import EpochLoader, default_num_workers
from data.imagenet import ImageNetEval, ImageNetTrain, scan
from experiments.tasks.base import Task


def build(cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device) -> Task:
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
    return Task(
        model=instantiate(cfg.model),
        train=train,
        eval_splits={"test": test},
        loss_fn=nn.CrossEntropyLoss(),
        epochs=cfg.epochs,
        headline=cfg.headline,
        mode=cfg.mode,
        checksums=files.checksums,
    )
