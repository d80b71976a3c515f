"""CIFAR-10 files: the project's reader on batches written in the official format, the integrity
check, refusals of missing or broken data, and the validation splits."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from data import DataUnavailable
from data.cifar10 import files as cifar10
from tests.data.tiny_datasets import CIFAR_FOLDER, CIFAR_TEST, CIFAR_TRAIN, write_cifar


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, dict[str, tuple]]:
    return tmp_path, write_cifar(tmp_path, per_file=20)


def test_reader_decodes_the_official_layout(tiny: tuple[Path, dict]) -> None:
    root, written = tiny
    data = cifar10.load_cifar10(root)
    assert data.train_images.shape == (100, 3, 32, 32)
    assert data.train_images.dtype == torch.uint8
    assert data.test_images.shape == (20, 3, 32, 32)
    # Training images are data_batch_1..5 in order; each row holds the red, green and blue planes.
    rows = np.concatenate([written[name][0] for name in CIFAR_TRAIN])
    labels = sum((written[name][1] for name in CIFAR_TRAIN), [])
    for k in (0, 21, 99):
        image = data.train_images[k]
        assert image[0, 0, 1] == rows[k][1]  # red, row 0, column 1
        assert image[0, 1, 0] == rows[k][32]  # red, row 1, column 0
        assert image[1, 0, 0] == rows[k][1024]  # green plane starts after 32·32 red values
        assert image[2, 31, 31] == rows[k][3071]
    assert data.train_labels.tolist() == labels
    assert data.test_labels.tolist() == written[CIFAR_TEST][1]
    assert data.test_images[5].flatten().tolist() == written[CIFAR_TEST][0][5].tolist()


def test_checksums_are_the_md5_of_the_files_read(tiny: tuple[Path, dict]) -> None:
    root, _ = tiny
    checksums = cifar10.load_cifar10(root).checksums
    assert len(checksums) == 6
    for name in (*CIFAR_TRAIN, CIFAR_TEST):
        expected = hashlib.md5((root / CIFAR_FOLDER / name).read_bytes()).hexdigest()
        assert checksums[f"{CIFAR_FOLDER}/{name}(md5)"] == expected


def test_integrity_check_catches_a_corrupted_file(tiny: tuple[Path, dict]) -> None:
    root, _ = tiny
    folder = root / CIFAR_FOLDER
    sums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
    assert cifar10.verify_integrity(root, sums) == []
    target = folder / "data_batch_3"
    content = bytearray(target.read_bytes())
    content[len(content) // 2] ^= 0xFF
    target.write_bytes(bytes(content))
    assert cifar10.verify_integrity(root, sums) == ["data_batch_3"]
    (folder / "test_batch").unlink()
    assert cifar10.verify_integrity(root, sums) == ["data_batch_3", "test_batch"]


def test_tiny_files_are_not_the_official_release(tiny: tuple[Path, dict]) -> None:
    root, _ = tiny
    assert sorted(cifar10.verify_integrity(root)) == sorted(cifar10.OFFICIAL_MD5)


def test_missing_data_names_the_path_and_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as caught:
        cifar10.load_cifar10(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / CIFAR_FOLDER) in message
    assert f"python -m scripts.download_data cifar10 --data-dir {tmp_path}" in message
    assert "\n" not in message


def test_one_missing_file_is_named(tiny: tuple[Path, dict]) -> None:
    root, _ = tiny
    (root / CIFAR_FOLDER / "data_batch_4").unlink()
    with pytest.raises(DataUnavailable, match="data_batch_4 missing"):
        cifar10.load_cifar10(root)


def _rewrite(path: Path, batch: object) -> None:
    with open(path, "wb") as stream:
        pickle.dump(batch, stream, protocol=2)


@pytest.mark.parametrize(
    "damage",
    ["truncated", "wrong width", "label out of range", "label count", "not a dict"],
)
def test_structural_check_refuses_malformed_batches(tiny: tuple[Path, dict], damage: str) -> None:
    root, written = tiny
    path = root / CIFAR_FOLDER / "data_batch_2"
    data, labels = written["data_batch_2"]
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "wrong width":
        _rewrite(path, {b"data": data[:, :3000], b"labels": labels})
    elif damage == "label out of range":
        _rewrite(path, {b"data": data, b"labels": [10] + labels[1:]})
    elif damage == "label count":
        _rewrite(path, {b"data": data, b"labels": labels[:-1]})
    else:
        _rewrite(path, [data, labels])
    with pytest.raises(DataUnavailable) as caught:
        cifar10.load_cifar10(root)
    assert str(path) in str(caught.value)
    assert "python -m scripts.download_data cifar10" in str(caught.value)


class _Trap:
    """Unpickling this would create a file: the reader must refuse it without running it."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.target,))


def test_reader_runs_no_code_from_a_data_file(tiny: tuple[Path, dict], tmp_path: Path) -> None:
    root, written = tiny
    armed = tmp_path / "plain-pickle-runs-it"
    pickle.loads(pickle.dumps(_Trap(armed), protocol=2))
    assert armed.exists()  # the trap works on an unrestricted unpickler
    target = tmp_path / "created-by-unpickling"
    path = root / CIFAR_FOLDER / "data_batch_1"
    _rewrite(path, {b"data": written["data_batch_1"][0], b"labels": [_Trap(target)]})
    with pytest.raises(DataUnavailable, match="unreadable"):
        cifar10.load_cifar10(root)
    assert not target.exists()


def _images(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.arange(count, dtype=torch.uint8).view(count, 1, 1, 1).expand(count, 3, 32, 32)
    return images.contiguous(), torch.arange(count)


def test_tail_split_takes_the_end_of_the_training_set_like_keras() -> None:
    images, labels = _images(50)
    (train_x, train_y), val = cifar10.split_validation(images, labels, 5, "tail", seed=0)
    assert val is not None
    # Keras: split_at = int(50 · (1 − 0.1)) = 45; validation = x[45:], training = x[:45].
    assert val[1].tolist() == list(range(45, 50))
    assert train_y.tolist() == list(range(45))
    assert torch.equal(val[0], images[45:])
    assert torch.equal(train_x, images[:45])


def test_seed_split_is_a_partition_chosen_by_the_seed() -> None:
    images, labels = _images(60)
    (_, train_y), val = cifar10.split_validation(images, labels, 12, "seed", seed=3)
    assert val is not None
    val_y = val[1]
    assert len(val_y) == 12 and len(train_y) == 48
    assert sorted(val_y.tolist() + train_y.tolist()) == list(range(60))
    assert torch.equal(val[0][:, 0, 0, 0].long(), val_y)  # images travel with their labels
    (_, _), again = cifar10.split_validation(images, labels, 12, "seed", seed=3)
    (_, _), other = cifar10.split_validation(images, labels, 12, "seed", seed=4)
    assert again is not None and other is not None
    assert torch.equal(again[1], val_y)
    assert not torch.equal(other[1], val_y)
    assert val_y.tolist() != list(range(48, 60))


def test_no_split_and_bad_requests() -> None:
    images, labels = _images(10)
    train, val = cifar10.split_validation(images, labels, 0, "seed", seed=0)
    assert val is None and torch.equal(train[1], labels)
    with pytest.raises(ValueError, match="val_size"):
        cifar10.split_validation(images, labels, 10, "tail", seed=0)
    with pytest.raises(ValueError, match="val_split"):
        cifar10.split_validation(images, labels, 2, "head", seed=0)
