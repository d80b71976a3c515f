"""Tiny datasets in the real on-disk formats, written here (not by the project's code) so the
real loaders can run on them: CIFAR-10's python pickle batches and an ImageFolder tree of JPEGs.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
IMAGENET_CLASSES = ("n01440764", "n01443537", "n01484850")


def write_cifar(root: Path, per_file: int = 20, seed: int = 0) -> dict[str, tuple]:
    """``root/cifar-10-batches-py/`` with ``per_file`` random images in each of data_batch_1..5
    and test_batch, laid out like the official python version: a pickled dict with b"data"
    (uint8, N × 3072: the red, green and blue 32 × 32 planes of each image in turn) and b"labels"
    (a list of ints). The training files use pickle protocol 2 (the official files come from
    Python 2), the test file the current default. Returns {file name: (data, labels)}."""
    rng = np.random.default_rng(seed)
    folder = root / CIFAR_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in (*CIFAR_TRAIN, CIFAR_TEST):
        data = rng.integers(0, 256, size=(per_file, 3072), dtype=np.uint8)
        labels = [int(label) for label in rng.integers(0, 10, size=per_file)]
        batch = {
            b"batch_label": f"tiny {name}".encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [f"{name}_{i}.png".encode() for i in range(per_file)],
        }
        protocol = 2 if name != CIFAR_TEST else pickle.DEFAULT_PROTOCOL
        with open(folder / name, "wb") as stream:
            pickle.dump(batch, stream, protocol=protocol)
        written[name] = (data, labels)
    meta = {b"num_cases_per_batch": per_file, b"label_names": [b"c%d" % i for i in range(10)]}
    with open(folder / "batches.meta", "wb") as stream:
        pickle.dump(meta, stream, protocol=2)
    return written


def write_imagenet(
    root: Path, train_per_class: int = 2, val_per_class: int = 1, seed: int = 0
) -> Path:
    """``root/imagenet/{train,val}/<wnid>/*.JPEG``: small random RGB JPEGs of varied sizes (the
    loaders resize them to 224). Returns ``root/imagenet``."""
    rng = np.random.default_rng(seed)
    base = root / "imagenet"
    sizes = [(40, 30), (24, 48), (33, 33), (64, 20)]
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, wnid in enumerate(IMAGENET_CLASSES):
            folder = base / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                width, height = sizes[(label + i) % len(sizes)]
                pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
                name = f"{wnid}_{i}.JPEG" if split == "train" else f"ILSVRC2012_val_{label}{i}.JPEG"
                Image.fromarray(pixels).save(folder / name, format="JPEG")
    return base
