"""CIFAR-10: download, integrity check, the project's reader of the python pickle batches, and the
validation split.

On disk (what ``torchvision.datasets.CIFAR10(root=data_dir, download=True)`` extracts):
``<data_dir>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``, each batch a
pickled dict with ``b"data"`` (uint8, N × 3072, the 1024 red then green then blue values of an
image in row-major order) and ``b"labels"`` (N ints in 0..9). The reader is the project's own
because torchvision's class insists on the official md5 sums, which small test files cannot
have; the sums are checked by ``verify_integrity`` (after a download, or on demand) and every
load records the md5 of the files it read.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from data import DataUnavailable
from data.seeding import derived_generator

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
# The official md5 sums of the extracted files (the ones torchvision checks).
OFFICIAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
DOWNLOAD_COMMAND = "python -m scripts.download_data cifar10 --data-dir {data_dir}"
VAL_SPLITS = ("seed", "tail")


@dataclass
class CifarData:
    """uint8 images N × 3 × 32 × 32 and int64 labels, plus the md5 of every file read."""

    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    checksums: dict[str, str] = field(default_factory=dict)


def folder(data_dir: str | Path) -> Path:
    return Path(data_dir) / FOLDER


def _unavailable(data_dir: str | Path, problem: str) -> DataUnavailable:
    command = DOWNLOAD_COMMAND.format(data_dir=data_dir)
    return DataUnavailable(f"CIFAR-10 {problem} (expected {folder(data_dir)}/); run `{command}`")


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and numpy arrays only: a data file cannot run code."""

    ALLOWED = {
        ("_codecs", "encode"),  # bytes pickled by Python 3 with protocol < 3
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data file")
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[Tensor, Tensor]:
    """One pickle batch as (uint8 N × 3 × 32 × 32, int64 N); ValueError names what is wrong.

    The structural check of every load: a dict with the two keys, a uint8 N × 3072 array and
    N labels in 0..9.
    """
    with open(path, "rb") as stream:
        try:
            batch = ArrayUnpickler(stream, encoding="bytes").load()
        except Exception as error:  # a corrupted pickle can fail in many ways
            raise ValueError(f"not a CIFAR pickle batch ({type(error).__name__})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError('no b"data" and b"labels" keys')
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"data is {data.dtype} {data.shape}, expected uint8 N × 3072")
    if labels.shape != (len(data),):
        raise ValueError(f"{labels.shape[0] if labels.ndim else 0} labels for {len(data)} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"labels outside 0..{NUM_CLASSES - 1}")
    images = torch.from_numpy(data.reshape(len(data), *IMAGE_SHAPE).copy())
    return images, torch.from_numpy(labels.astype(np.int64))


def _read_files(
    data_dir: str | Path, names: tuple[str, ...]
) -> tuple[Tensor, Tensor, dict[str, str]]:
    parts, md5s = [], {}
    for name in names:
        path = folder(data_dir) / name
        try:
            parts.append(read_batch(path))
        except ValueError as error:
            raise _unavailable(data_dir, f"file {path} is unreadable: {error}") from None
        except OSError as error:
            raise _unavailable(data_dir, f"file {path} cannot be read: {error.strerror}") from None
        md5s[name] = file_md5(path)
    images = torch.cat([images for images, _ in parts])
    labels = torch.cat([labels for _, labels in parts])
    return images, labels, md5s


def require_files(data_dir: str | Path) -> None:
    """DataUnavailable unless every batch file is there (nothing is read)."""
    missing = [name for name in TRAIN_FILES + TEST_FILES if not (folder(data_dir) / name).is_file()]
    if len(missing) == len(TRAIN_FILES + TEST_FILES):
        raise _unavailable(data_dir, "not found: no data_batch_1..5 and test_batch")
    if missing:
        raise _unavailable(data_dir, f"incomplete: {', '.join(missing)} missing")


def load_cifar10(data_dir: str | Path) -> CifarData:
    """Train (data_batch_1..5, in order) and test images; DataUnavailable when absent or broken."""
    require_files(data_dir)
    train_images, train_labels, train_sums = _read_files(data_dir, TRAIN_FILES)
    test_images, test_labels, test_sums = _read_files(data_dir, TEST_FILES)
    md5s = {**train_sums, **test_sums}
    unofficial = [name for name, md5 in md5s.items() if OFFICIAL_MD5[name] != md5]
    if unofficial:
        print(
            f"warning: CIFAR-10 files {', '.join(unofficial)} in {folder(data_dir)} differ from "
            "the official release (md5)",
            file=sys.stderr,
        )
    checksums = {f"{FOLDER}/{name}(md5)": md5 for name, md5 in md5s.items()}
    return CifarData(train_images, train_labels, test_images, test_labels, checksums)


def verify_integrity(data_dir: str | Path, expected: dict[str, str] = OFFICIAL_MD5) -> list[str]:
    """Names of the files that are missing or whose md5 differs from ``expected`` (empty: OK)."""
    bad = []
    for name, md5 in expected.items():
        path = folder(data_dir) / name
        if not path.is_file() or file_md5(path) != md5:
            bad.append(name)
    return bad


def split_validation(
    images: Tensor, labels: Tensor, val_size: int, how: str, seed: int
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor] | None]:
    """(train, val) carved from the training set; val is None when ``val_size`` is 0.

    ``how="seed"``: ``val_size`` samples drawn by ``seed`` (both parts keep the file order).
    ``how="tail"``: the last ``val_size`` samples, as Keras' ``validation_split`` takes them
    (the fraction at the END of the arrays, before any shuffling).
    """
    if how not in VAL_SPLITS:
        raise ValueError(f"val_split must be one of {', '.join(VAL_SPLITS)}, got {how!r}")
    if not 0 <= val_size < len(labels):
        raise ValueError(f"val_size must be in [0, {len(labels)}), got {val_size}")
    if val_size == 0:
        return (images, labels), None
    if how == "tail":
        cut = len(labels) - val_size
        return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])
    order = torch.randperm(len(labels), generator=derived_generator("cifar10-val", seed))
    val_index, train_index = order[:val_size].sort().values, order[val_size:].sort().values
    return (images[train_index], labels[train_index]), (images[val_index], labels[val_index])


URL_ENV = "CIFAR10_URL"
"""Set it to a mirror of the official archive (``cifar-10-python.tar.gz``) to download from it."""


def download(data_dir: str | Path) -> None:
    """Download and extract the official archive with torchvision (which checks the archive's
    md5 and skips the download when the extracted files are already intact). A failed download
    is one RuntimeError naming the URL tried and how to place the files by hand."""
    from data.torchvision_compat import import_torchvision

    torchvision = import_torchvision()
    dataset = torchvision.datasets.CIFAR10
    url = os.environ.get(URL_ENV) or dataset.url
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    official, dataset.url = dataset.url, url
    try:
        dataset(root=str(data_dir), train=True, download=True)
    except (OSError, RuntimeError) as error:
        reason = str(getattr(error, "reason", "") or error).strip().splitlines()
        raise RuntimeError(
            f"could not download {url} ({reason[0] if reason else type(error).__name__}): "
            f"download {dataset.filename} by hand (or set {URL_ENV} to a mirror) and extract it "
            f"in {data_dir}, so that {folder(data_dir)}/ holds data_batch_1..5 and test_batch; "
            f"then `python -m scripts.download_data cifar10 --check --data-dir {data_dir}`"
        ) from None
    finally:
        dataset.url = official
