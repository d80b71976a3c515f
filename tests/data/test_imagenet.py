"""ImageNet from an ImageFolder tree of real JPEGs: the layout check, torchvision's transforms as
the reference for the per-sample draws, and exact mid-epoch resume through the DataLoader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from data import DataUnavailable
from data.epoch_loader import EpochLoader
from data.imagenet import files as imagenet
from data.seeding import derive_seed
from data.torchvision_compat import import_torchvision
from tests.data.tiny_datasets import IMAGENET_CLASSES, write_imagenet

torchvision = import_torchvision()
T = torchvision.transforms
# ImageNet statistics, written out independently of data/imagenet.py.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data_dir with imagenet/{train,val}: 3 classes, 2 training and 1 validation JPEG each."""
    root = tmp_path_factory.mktemp("imagenet_data")
    write_imagenet(root, train_per_class=2, val_per_class=1)
    return root


def test_scan_lists_sorted_classes_and_labels(tree: Path) -> None:
    files = imagenet.scan(tree)
    assert files.classes == sorted(IMAGENET_CLASSES)
    assert len(files.train) == 6 and len(files.val) == 3
    for path, label in files.train + files.val:
        assert Path(path).parent.name == files.classes[label]
        assert path.endswith(".JPEG")
    assert set(files.checksums) == {
        "imagenet/train(file list sha256)",
        "imagenet/val(file list sha256)",
    }
    assert imagenet.scan(tree).checksums == files.checksums


@pytest.mark.parametrize("shape", [(500, 375), (40, 30), (300, 20), (20, 300)])
def test_crop_parameters_equal_torchvision_get_params(shape: tuple[int, int]) -> None:
    """Same numbers in the same order, the fallback center crop included (extreme shapes)."""
    height, width = shape
    for seed in range(40):
        torch.manual_seed(seed)
        expected = T.RandomResizedCrop.get_params(
            torch.empty(3, height, width), [0.08, 1.0], [3 / 4, 4 / 3]
        )
        generator = torch.Generator().manual_seed(seed)
        assert imagenet.random_resized_crop_params(height, width, generator) == expected


def test_training_sample_equals_torchvision_transform_under_the_same_seed(tree: Path) -> None:
    files = imagenet.scan(tree)
    dataset = imagenet.ImageNetTrain(files.train, seed=5)
    reference = T.Compose(
        [
            T.RandomResizedCrop(224),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    for epoch, index in [(0, 0), (2, 3), (9, 5)]:
        torch.manual_seed(derive_seed("imagenet-sample", 5, epoch, index))
        expected = reference(imagenet.load_rgb(files.train[index][0]))
        image, label = dataset[(epoch, index)]
        assert image.shape == (3, 224, 224)
        assert label == files.train[index][1]
        assert torch.equal(image, expected)


def test_evaluation_sample_is_resize_256_center_crop_224(tree: Path) -> None:
    files = imagenet.scan(tree)
    reference = T.Compose(
        [T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    )
    dataset = imagenet.ImageNetEval(files.val)
    for index in range(3):
        image, label = dataset[(0, index)]
        assert torch.equal(image, reference(imagenet.load_rgb(files.val[index][0])))
        assert label == index  # one validation image per class, in class order


def test_loader_resumes_mid_epoch_exactly(tree: Path) -> None:
    files = imagenet.scan(tree)
    loader = EpochLoader(imagenet.ImageNetTrain(files.train, seed=1), 6, 2, shuffle=True, seed=1)
    full = list(loader.batches(epoch=1))
    assert [x.shape for x, _ in full] == [(2, 3, 224, 224)] * 3
    resumed = list(loader.batches(epoch=1, start=2))
    assert len(resumed) == 1
    assert torch.equal(resumed[0][0], full[2][0]) and torch.equal(resumed[0][1], full[2][1])
    labels = sorted(torch.cat([y for _, y in full]).tolist())
    assert labels == [0, 0, 1, 1, 2, 2]


def test_missing_tree_names_the_expected_layout(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as caught:
        imagenet.scan(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "imagenet" / "train") in message
    assert "train/<wnid>/*.JPEG" in message and "val/<wnid>/*.JPEG" in message


def test_flat_validation_folder_is_refused(tree: Path, tmp_path: Path) -> None:
    """The official val archive is flat; it must be sorted into class folders first."""
    copy = tmp_path / "copy"
    shutil.copytree(tree / "imagenet" / "train", copy / "imagenet" / "train")
    flat = copy / "imagenet" / "val"
    flat.mkdir()
    for path in (tree / "imagenet" / "val").rglob("*.JPEG"):
        shutil.copy(path, flat / path.name)
    with pytest.raises(DataUnavailable, match="val/ has 0 class folders, train/ has 3"):
        imagenet.scan(copy)
