"""The dataset command (``data.download``, run as ``python -m scripts.download_data``): checking
what is on disk (never downloading in tests; one test runs the script itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import download as download_command
from tests.data.tiny_datasets import write_cifar, write_imagenet


def test_check_reports_files_that_are_not_the_official_release(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    write_cifar(tmp_path, per_file=4)
    assert download_command.main(["cifar10", "--check", "--data-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "differ from the official release" in error and "data_batch_1" in error


def test_check_without_data_exits_2_with_the_download_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))  # the default of --data-dir
    assert download_command.main(["cifar10", "--check"]) == 2
    error = capsys.readouterr().err
    assert f"python -m scripts.download_data cifar10 --data-dir {tmp_path}" in error
    assert error.count("\n") == 1


def test_imagenet_check_counts_a_local_tree(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert download_command.main(["imagenet", "--data-dir", str(tmp_path)]) == 2
    assert "ImageFolder layout" in capsys.readouterr().err
    write_imagenet(tmp_path, train_per_class=1, val_per_class=1)
    assert download_command.main(["imagenet", "--data-dir", str(tmp_path)]) == 0
    assert "3 classes, 3 training and 3 validation images" in capsys.readouterr().out


def test_a_failed_download_names_the_url_the_folder_and_the_way_by_hand(tmp_path: Path) -> None:
    """A real download attempt against an address that refuses (no network in CI either)."""
    import os
    import subprocess
    import sys

    url = "http://127.0.0.1:9/cifar-10-python.tar.gz"
    done = subprocess.run(
        [sys.executable, "-m", "scripts.download_data", "cifar10", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CIFAR10_URL": url},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert url in line and "by hand" in line and f"{tmp_path}/cifar-10-batches-py/" in line
    assert "Traceback" not in done.stderr
