"""ILSVRC2012 (ImageNet-1k) from local folders, as the RAdam ImageNet runs read it (docs/papers.md
§2).

Layout (torchvision ``ImageFolder``): ``<data_dir>/imagenet/{train,val}/<wnid>/*.JPEG``; the
validation images must be sorted into the same class folders as the training images (the
official val archive is flat; the usual ``valprep.sh`` sorts it). Labels are the indices of the
sorted training class folders. Nothing is downloaded: ImageNet's licence requires fetching it
by hand.

Training: RandomResizedCrop(224) (scale 0.08–1, ratio 3/4–4/3) + horizontal flip, drawn per
sample from a generator seeded by (seed, epoch, index) in torchvision's draw order, so a sample
equals torchvision's ``Compose([RandomResizedCrop(224), RandomHorizontalFlip(), ToTensor(),
Normalize(mean, std)])`` under the same seed, and a run resumes mid-epoch exactly. Evaluation:
resize the shorter side to 256, center crop 224. Both are normalized with ImageNet's mean/std and
loaded by ``data.epoch_loader.EpochLoader`` (workers, pinned memory).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from data import DataUnavailable
from data.seeding import derived_generator
from data.torchvision_compat import import_torchvision

torchvision = import_torchvision()
TF = torchvision.transforms.functional

FOLDER = "imagenet"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CROP = 224
RESIZE = 256
SCALE = (0.08, 1.0)
RATIO = (3.0 / 4.0, 4.0 / 3.0)

Samples = list[tuple[str, int]]


@dataclass
class ImageNetFiles:
    classes: list[str]
    train: Samples
    val: Samples
    checksums: dict[str, str]


def root(data_dir: str | Path) -> Path:
    return Path(data_dir) / FOLDER


def _unavailable(data_dir: str | Path, problem: str) -> DataUnavailable:
    where = root(data_dir)
    return DataUnavailable(
        f"ImageNet {problem} (expected {where}/train/<wnid>/*.JPEG and {where}/val/<wnid>/*.JPEG: "
        "the ILSVRC2012 images in ImageFolder layout, val sorted into class folders)"
    )


def _list_digest(samples: Samples, base: Path) -> str:
    """SHA-256 of the relative paths and labels: hashing ≈ 150 GB of JPEGs per run is not an
    option, so the run records which files it read, not their bytes."""
    digest = hashlib.sha256()
    for path, label in samples:
        digest.update(f"{Path(path).relative_to(base)}\t{label}\n".encode())
    return digest.hexdigest()


def require_folders(data_dir: str | Path) -> None:
    """DataUnavailable unless both split folders are there (nothing is listed or read)."""
    base = root(data_dir)
    for split in ("train", "val"):
        if not (base / split).is_dir():
            raise _unavailable(data_dir, f"not found: no folder {base / split}")


def scan(data_dir: str | Path) -> ImageNetFiles:
    """The class list and the (path, label) samples of both splits; DataUnavailable if absent."""
    folder_module = torchvision.datasets.folder
    base = root(data_dir)
    require_folders(data_dir)
    try:
        classes, class_to_index = folder_module.find_classes(str(base / "train"))
    except FileNotFoundError:
        raise _unavailable(data_dir, f"has no class folders in {base / 'train'}") from None
    val_classes = sorted(entry.name for entry in (base / "val").iterdir() if entry.is_dir())
    if val_classes != classes:
        extra = sorted(set(val_classes) - set(classes))
        problem = (
            f"val folders {extra[:3]} are not training classes"
            if extra
            else f"val/ has {len(val_classes)} class folders, train/ has {len(classes)}"
        )
        raise _unavailable(data_dir, problem)
    samples = {}
    for split in ("train", "val"):
        try:
            samples[split] = folder_module.make_dataset(
                str(base / split), class_to_index, extensions=folder_module.IMG_EXTENSIONS
            )
        except FileNotFoundError as error:
            raise _unavailable(data_dir, f"{split}: {str(error).splitlines()[0]}") from None
    checksums = {
        f"{FOLDER}/{split}(file list sha256)": _list_digest(samples[split], base)
        for split in ("train", "val")
    }
    return ImageNetFiles(classes, samples["train"], samples["val"], checksums)


def random_resized_crop_params(
    height: int, width: int, generator: torch.Generator
) -> tuple[int, int, int, int]:
    """(top, left, h, w) of torchvision's ``RandomResizedCrop.get_params`` with its default scale
    and ratio, drawing the same numbers in the same order from ``generator``."""
    area = height * width
    log_ratio = torch.log(torch.tensor(RATIO))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(*SCALE, generator=generator).item()
        aspect = torch.exp(
            torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=generator)
        ).item()
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, size=(1,), generator=generator))
            left = int(torch.randint(0, width - w + 1, size=(1,), generator=generator))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(RATIO):
        w, h = width, int(round(width / min(RATIO)))
    elif in_ratio > max(RATIO):
        h, w = height, int(round(height * max(RATIO)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def load_rgb(path: str) -> Image.Image:
    with open(path, "rb") as stream:
        return Image.open(stream).convert("RGB")


def to_normalized_tensor(image: Image.Image) -> Tensor:
    """ToTensor + Normalize: float32 3 × H × W, (x/255 − mean)/std."""
    pixels = TF.pil_to_tensor(image).float().div(255)
    return (pixels - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)


class ImageNetTrain(Dataset):
    """``dataset[(epoch, index)]``: a random resized crop, maybe flipped, seeded by position."""

    def __init__(self, samples: Samples, seed: int) -> None:
        self.samples, self.seed = samples, seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Tensor, int]:
        epoch, index = key
        path, label = self.samples[index]
        image = load_rgb(path)
        generator = derived_generator("imagenet-sample", self.seed, epoch, index)
        top, left, h, w = random_resized_crop_params(image.height, image.width, generator)
        image = TF.resized_crop(image, top, left, h, w, [CROP, CROP], antialias=True)
        if torch.rand(1, generator=generator) < 0.5:
            image = TF.hflip(image)
        return to_normalized_tensor(image), label


class ImageNetEval(Dataset):
    """``dataset[(epoch, index)]``: shorter side resized to 256, center crop 224 (epoch unused)."""

    def __init__(self, samples: Samples) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Tensor, int]:
        path, label = self.samples[key[1]]
        image = TF.center_crop(TF.resize(load_rgb(path), RESIZE, antialias=True), CROP)
        return to_normalized_tensor(image), label
