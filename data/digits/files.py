"""scikit-learn's bundled 8×8 digits (1,797 images, 10 classes), read without network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits — (1797, 64) pixel counts 0..16 and (1797,) labels — read
    from the CSV file scikit-learn ships, without importing scikit-learn (≈ 1 s per launch)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("scikit-learn is not installed: `make install` installs it")
    path = Path(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1], table[:, -1].astype(np.int64)


def split_digits(seed: int, val_fraction: float, test_fraction: float) -> dict[str, tuple]:
    """Images scaled to [0, 1] as (N, 1, 8, 8) float32, split train/val/test by ``seed``."""
    pixels, targets = load_digits_arrays()
    images = torch.tensor(pixels, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    labels = torch.tensor(targets, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = round(test_fraction * len(labels))
    n_val = round(val_fraction * len(labels))
    parts = {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }
    return {name: (images[index], labels[index]) for name, index in parts.items()}
