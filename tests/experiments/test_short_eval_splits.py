"""An evaluation split too short to evaluate is refused when the task is built (issue 22,
point 4): one line naming the split, exit 2, no run directory; before, an empty ``ptb.valid.txt``
ended the whole training with ``KeyError: 'nll'``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from data import DataError
from data.sample_corpora import write_iwslt14, write_ptb
from data.token_stream.columns import Columns, require_targets
from experiments.distributed import World
from experiments.tasks.translation.task import build
from tests.experiments.cli import Workspace
from tests.experiments.language_model.lm_configs import TINY_PTB, tiny_task
from tests.experiments.translation.test_translation_task import task_config


def ptb_dir(root: Path, test: int = 30) -> Path:
    write_ptb(root, train=150, valid=30, test=test)
    return root


def test_an_empty_validation_file_is_one_line_through_the_command_line(tmp_path: Path) -> None:
    data_dir = ptb_dir(tmp_path / "data")
    (data_dir / "ptb" / "ptb.valid.txt").write_text("")
    workspace = Workspace.create(tmp_path)
    finished = workspace.run(["task=ptb_lstm1", *TINY_PTB, f"data_dir={data_dir}", "device=cpu"])
    assert finished.returncode == 2, finished.describe()
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.describe()
    assert "the val split holds 0 tokens" in lines[0] and "at least 6" in lines[0]
    assert workspace.run_dirs() == [] and not list(workspace.runs_dir.rglob("*.json"))


def test_a_split_shorter_than_its_columns_is_refused(tmp_path: Path) -> None:
    """PTB's test split in ``test_batch_size`` columns of ``n // B`` tokens: each needs two."""
    data_dir = ptb_dir(tmp_path, test=1)
    tokens = len((data_dir / "ptb" / "ptb.test.txt").read_text().split()) + 1  # + <eos>
    with pytest.raises(DataError, match=f"the test split holds {tokens} tokens") as error:
        tiny_task("ptb_lstm1", data_dir, f"task.test_batch_size={tokens}")
    assert f"at least {2 * tokens}" in str(error.value)
    task = tiny_task("ptb_lstm1", data_dir, f"task.test_batch_size={tokens // 2}")
    assert sum(1 for _ in task.eval_batches("test", World())) >= 1


def test_the_rule_of_each_layout() -> None:
    """One (token, next token) pair in some column is all an evaluation needs."""
    require_targets(Columns.all_pairs(0, 2, 8), "test")  # one pair, seven padded columns
    with pytest.raises(DataError, match="holds 1 tokens.*at least 2 for one"):
        require_targets(Columns.all_pairs(0, 1, 8), "test")
    with pytest.raises(DataError, match="holds 19 tokens.*10 columns it needs at least 20"):
        require_targets(Columns.batchified(0, 19, 10), "val")
    require_targets(Columns.batchified(0, 20, 10), "val")


@pytest.mark.parametrize("split", ["valid", "test"])
def test_an_empty_translation_split_is_refused(tmp_path: Path, split: str) -> None:
    folder = write_iwslt14(tmp_path, longest=12)
    for lang in ("de", "en"):
        (folder / f"{split}.{lang}").write_text("")
    name = {"valid": "val", "test": "test"}[split]
    with pytest.raises(DataError, match=f"the {name} split \\({split}\\) holds 0 sentence pairs"):
        build(task_config(), seed=1, data_dir=str(tmp_path), device=torch.device("cpu"),
              world=World())  # fmt: skip
