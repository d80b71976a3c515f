"""The optimizer benchmark's parameter sets match the published models, and the script runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.bench.optimizer_step import main
from experiments.bench.parameter_shapes import SHAPE_SETS, resnet18_shapes
from tests.experiments.cli import REPO_ROOT


@pytest.mark.parametrize(
    "name, tensors, parameters",
    [
        ("resnet20", 65, 272_474),  # docs/papers.md §4
        ("resnet18", 62, 11_689_512),  # docs/papers.md §4 (torchvision)
        ("transformer_iwslt", 182, 39_469_056),  # counted by hand below
    ],
)
def test_shape_sets_have_the_published_sizes(name: str, tensors: int, parameters: int) -> None:
    shapes = SHAPE_SETS[name]()
    assert len(shapes) == tensors
    assert sum(math.prod(shape) for shape in shapes) == parameters


def test_transformer_count_by_hand() -> None:
    dim, hidden = 512, 1024
    attention = 3 * dim * dim + 3 * dim + dim * dim + dim
    feed_forward = dim * hidden + hidden + hidden * dim + dim
    encoder = attention + feed_forward + 2 * 2 * dim
    decoder = 2 * attention + feed_forward + 3 * 2 * dim
    assert 6 * encoder + 6 * decoder + (8848 + 6632) * dim == 39_469_056


def test_resnet18_shapes_are_torchvisions() -> None:
    from data.torchvision_compat import import_torchvision

    model = import_torchvision().models.resnet18(weights=None)
    assert resnet18_shapes() == [tuple(p.shape) for p in model.parameters()]


def test_too_few_steps_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--steps", "10"])


def test_the_entry_point_refuses_too_few_steps() -> None:
    command = [sys.executable, "-m", "scripts.bench_optimizers", "--steps", "10"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--steps must be >= 50" in done.stderr


@pytest.mark.slow
def test_benchmark_writes_its_record(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    main(["--shapes", "resnet20", "--threads", "1", "--out", str(out)])
    record = json.loads(out.read_text())
    result = record["results"]["resnet20"]
    assert result["tensors"] == 65
    assert record["command"].startswith("python -m scripts.bench_optimizers")
    for entry in result["implementations"].values():
        assert entry["timed_steps"] >= 50 and entry["median_ms"] > 0
