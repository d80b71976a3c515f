"""The optimizer benchmark's parameter sets match the published models, and the script runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scripts.bench_optimizers import main
from scripts.bench_parameter_shapes import SHAPE_SETS


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


def test_too_few_steps_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--steps", "10"])


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
