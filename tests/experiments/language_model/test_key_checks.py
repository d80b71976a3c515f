"""Every key of the language-model recipes is checked before the run: a bad model key (an
enumeration, a dropout rate, a layer count, a regulariser weight) is one line naming the key and
the value (``ConfigError``, exit 2 through ``experiments.assembly``), raised before any data is
read; a vocabulary threshold that leaves no vocabulary is refused with no half-built cache left."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import DataError
from experiments.config_checks import ConfigError
from experiments.tasks.language_model import lm1b, ptb
from tests.experiments.language_model.lm_configs import composed, tiny_task, write_corpora

BAD_KEYS = {
    "hidden-weights": ("ptb_lstm1", "task.model.hidden_weights=bogus", "frozen, trained"),
    "dropout-above-one": ("ptb_lstm1", "task.model.dropout=1.5", "[0, 1)"),
    "dropout-one": ("ptb_lstm2", "task.model.dropout_input=1.0", "[0, 1)"),
    "dropout-negative": ("ptb_lstm3", "task.model.dropout_hidden=-0.1", "[0, 1)"),
    "embedding-dropout": ("ptb_lstm1", "task.model.dropout_embedding=2", "[0, 1)"),
    "weight-drop": ("ptb_lstm1", "task.model.weight_drop=2", "[0, 1]"),
    "ptb-layers-zero": ("ptb_lstm1", "task.model.layers=0", ">= 1"),
    "ptb-layers-negative": ("ptb_lstm2", "task.model.layers=-2", ">= 1"),
    "ar-alpha-negative": ("ptb_lstm1", "task.model.ar_alpha=-1", ">= 0"),
    "tar-beta-negative": ("ptb_lstm1", "task.model.tar_beta=-1", ">= 0"),
    "lm1b-dropout": ("lm1b_lstm", "task.model.dropout=1.5", "[0, 1]"),
    "lm1b-layers-zero": ("lm1b_lstm", "task.model.layers=0", ">= 1"),
    "lm1b-layers-negative": ("lm1b_lstm", "task.model.layers=-2", ">= 1"),
}


def assert_names(error: ConfigError, override: str, allowed: str) -> None:
    key, value = override.split("=")
    line = str(error)
    assert "\n" not in line and f"{key}=" in line and value.lstrip("-") in line, line
    assert allowed in line, line


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_a_bad_model_key_is_refused_before_any_data_is_read(case: str, tmp_path: Path) -> None:
    name, override, allowed = BAD_KEYS[case]
    module = lm1b if name.startswith("lm1b") else ptb
    empty = tmp_path / "no-data"  # a missing dataset would be DataUnavailable, not this
    with pytest.raises(ConfigError) as refused:
        tiny_task(name, empty, override)
    assert_names(refused.value, override, allowed)
    with pytest.raises(ConfigError) as checked:  # what a sweep checks before launching
        module.check_data(composed(f"task={name}", override).task, data_dir=str(empty))
    assert str(checked.value) == str(refused.value)
    assert not empty.exists()


@pytest.mark.parametrize("value", ["0", "1.0", "0.5"])
def test_dropout_rates_in_range_are_accepted(value: str, tmp_path: Path) -> None:
    corpora = write_corpora(tmp_path)
    tiny_task("lm1b_lstm", corpora, f"task.model.dropout={value}")
    if value != "1.0":  # AWD-LSTM divides by 1 − p
        tiny_task("ptb_lstm1", corpora, f"task.model.dropout={value}", "task.model.weight_drop=1")


def test_a_threshold_that_leaves_no_vocabulary_is_one_line_and_leaves_no_partial_cache(
    tmp_path: Path,
) -> None:
    corpora = write_corpora(tmp_path)
    with pytest.raises(DataError) as refused:  # the entry point: one line, exit 2
        tiny_task("lm1b_lstm", corpora, "task.threshold=1000000")
    line = str(refused.value)
    assert "\n" not in line and line.startswith("task.threshold=1000000 leaves a 1-symbol"), line
    assert "lower the threshold" in line, line
    cache = corpora / "lm1b-cache"
    assert not list(cache.glob("*.partial")) and not (cache / "r13-threshold1000000").exists()
