"""A corpus that is not its release (issue 22, point 1): refused when the task is built, in one
line naming the file or split, what it holds and what the release holds, unless
``task.accept_corpus=true``, which trains on it, says so in one line and records the counts in
the run's data checksums. The release numbers are the ones the download checks use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from data.iwslt14 import download as iwslt14_download
from data.iwslt14 import files as iwslt14_files
from data.lm1b import files as lm1b_files
from data.lm1b.cache import cache_dir
from data.ptb import download as ptb_download
from data.ptb import files as ptb_files
from data.release_check import CHECKSUM_KEY
from data.sample_corpora import write_iwslt14, write_ptb, write_release, write_wmt16
from data.token_stream.vocabulary import file_sha256
from data.wmt16 import files as wmt16_files
from experiments.assembly import build_task
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS
from experiments.runs.identity import (
    first_difference,
    run_dir,
    scientific_config,
    scientific_overrides,
    setting_digest,
)
from tests.experiments.cli import Workspace
from tests.experiments.language_model.lm_configs import TINY_LM1B, TINY_PTB
from tests.experiments.translation.test_translation_task import TINY_MODEL
from tests.runs_in_process import compose_config, run_in_process

CPU = torch.device("cpu")
ACCEPT = "task.accept_corpus=true"
PTB_RUN = ("task=ptb_lstm1", *(o for o in TINY_PTB if o != ACCEPT), "max_steps=2", "device=cpu")
"""The tiny PTB recipe without the key (``TINY_PTB`` accepts the tiny corpus)."""


def without_accept(overrides: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(override for override in overrides if override != ACCEPT)


def composed(data_dir: Path, *overrides: str) -> DictConfig:
    return compose_config(f"data_dir={data_dir}", "device=cpu", *overrides)


def refusal(data_dir: Path, *overrides: str) -> str:
    """The one line ``build_task`` (what the entry point runs before a run directory exists)
    refuses the task with."""
    with pytest.raises(ConfigError) as refused:
        build_task(composed(data_dir, *overrides), CPU, SINGLE_PROCESS)
    line = str(refused.value)
    assert "\n" not in line and "task.accept_corpus=true" in line, line
    return line


def test_the_release_numbers_are_the_published_ones_and_the_download_checks_use_them(
    tmp_path: Path,
) -> None:
    assert ptb_files.RELEASE_LINES == {"train": 42_068, "valid": 3_370, "test": 3_761}
    assert ptb_files.RELEASE_TOKENS == {"train": 929_589, "valid": 73_760, "test": 82_430}
    assert lm1b_files.RELEASE_SENTENCES == {"train": 30_301_028, "heldout": 306_688}
    assert iwslt14_files.RELEASE_PAIRS == {"train": 160_239, "valid": 7_283, "test": 6_750}
    assert wmt16_files.RELEASE_PAIRS == {"valid": 3_000, "test": 3_003}
    write_ptb(tmp_path, train=20, valid=5, test=5)
    write_iwslt14(tmp_path)
    with pytest.raises(ValueError, match="42,068") as download_check:
        ptb_download.check(tmp_path)
    with pytest.raises(ValueError, match="160,239"):
        iwslt14_download.check(tmp_path)
    line = refusal(tmp_path, "task=ptb_lstm1")
    for phrase in (
        "ptb.train.txt: 20 lines (the release: 42,068)",
        "tokens (the release: 929,589)",
    ):
        assert phrase in line and phrase in str(download_check.value)


def test_ptb_that_differs_is_refused_by_the_command_line_before_a_run_directory(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    folder = write_ptb(data_dir, train=150, valid=30, test=30)
    workspace = Workspace.create(tmp_path / "refused")
    finished = workspace.run([*PTB_RUN, f"data_dir={data_dir}"])
    assert finished.returncode == 2, finished.describe()
    (line,) = finished.stderr.strip().splitlines()
    assert "ptb.train.txt: 150 lines (the release: 42,068)" in line and str(folder) in line
    assert "task.accept_corpus=true" in line and "Traceback" not in finished.stdout
    assert workspace.run_dirs() == []


def test_ptb_that_differs_trains_when_accepted_and_its_run_records_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    folder = write_ptb(data_dir, train=150, valid=30, test=30)
    accepted = run_in_process(tmp_path / "runs", [*PTB_RUN, f"data_dir={data_dir}", ACCEPT])
    assert accepted.returncode == 0 and accepted.run_dir is not None
    assert "differs from Mikolov's release" in capsys.readouterr().out
    assert "task.accept_corpus=True" in accepted.run_dir.parts[-2]
    recorded = json.loads((accepted.run_dir / "meta.json").read_text())["dataset_checksums"]
    assert "ptb.train.txt: 150 lines" in recorded[f"ptb/{CHECKSUM_KEY}"]
    assert recorded["ptb/ptb.train.txt"] == file_sha256(folder / "ptb.train.txt")


def test_lm1b_that_differs_is_refused_with_its_cache_whole_and_accepted_from_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_release(tmp_path, train_shards=3, heldout_shards=1, per_shard=120)
    line = refusal(tmp_path, "task=lm1b_lstm", *without_accept(TINY_LM1B))
    assert "train: 360 sentences (the release: 30,301,028)" in line
    assert "heldout: 40 sentences (the release: 306,688)" in line
    cache = cache_dir(tmp_path, "r13", 3)
    assert (cache / "manifest.json").is_file() and not list(tmp_path.rglob("*.partial"))
    capsys.readouterr()  # the build's own line
    built = build_task(composed(tmp_path, "task=lm1b_lstm", *TINY_LM1B), CPU, SINGLE_PROCESS)
    said = capsys.readouterr().out
    assert "building" not in said and "training on it (task.accept_corpus=true)" in said
    assert built.checksums[f"lm1b/{CHECKSUM_KEY}"].startswith("train: 360 sentences")


@pytest.mark.parametrize("recipe", ["iwslt14_de_en", "iwslt14_en_de"])
def test_iwslt_that_differs_is_refused_and_its_text_hashes_reach_the_checksums(
    recipe: str, tmp_path: Path
) -> None:
    folder = write_iwslt14(tmp_path)
    line = refusal(tmp_path, f"task={recipe}", *without_accept(TINY_MODEL))
    assert "train: 96 pairs (the release: 160,239)" in line and str(folder) in line
    assert "test: 12 pairs (the release: 6,750)" in line
    built = build_task(composed(tmp_path, f"task={recipe}", *TINY_MODEL), CPU, SINGLE_PROCESS)
    for name in ("train.de", "valid.en", "test.de"):
        assert built.checksums[f"text/{name}"] == file_sha256(folder / name)
    assert built.checksums[f"iwslt14/{CHECKSUM_KEY}"].startswith("train: 96 pairs")


def test_wmt16_is_checked_on_its_test_sets_only(tmp_path: Path) -> None:
    release = {"train": 40, **wmt16_files.RELEASE_PAIRS}
    write_wmt16(tmp_path / "short", sizes={"train": 40, "valid": 12, "test": 3_003})
    line = refusal(tmp_path / "short", "task=wmt16_en_de", *without_accept(TINY_MODEL))
    assert "newstest2013.tok.bpe.32000: 12 pairs (the release: 3,000)" in line
    assert "train.tok.clean" not in line  # no published count to refuse on
    folder = write_wmt16(tmp_path / "full", sizes=release)
    overrides = without_accept(TINY_MODEL)
    built = build_task(
        composed(tmp_path / "full", "task=wmt16_en_de", *overrides), CPU, SINGLE_PROCESS
    )
    assert not any(key.endswith(CHECKSUM_KEY) for key in built.checksums)
    train = "train.tok.clean.bpe.32000.en"
    assert built.checksums[f"text/{train}"] == file_sha256(folder / train)


@pytest.mark.parametrize("value", ["yes", "1"])
def test_a_key_that_is_not_a_boolean_is_refused_before_the_data_is_read(
    value: str, tmp_path: Path
) -> None:
    for recipe in ("ptb_lstm1", "lm1b_lstm", "iwslt14_de_en", "wmt16_en_de"):
        cfg = composed(tmp_path / "none", f"task={recipe}", f"task.accept_corpus={value}")
        with pytest.raises(ConfigError, match="task.accept_corpus=.* is invalid: true or false"):
            build_task(cfg, CPU, SINGLE_PROCESS)


def overrides_folder(*overrides: str) -> str:
    """The ``<overrides>`` folder of the run directory of ``task=ptb_lstm1 <overrides>``."""
    cfg = compose_config("task=ptb_lstm1", *overrides, return_hydra_config=True)
    given, choices = list(cfg.hydra.overrides.task), dict(cfg.hydra.runtime.choices)
    return run_dir(cfg, scientific_overrides(given, cfg, choices), choices).parts[-2]


def test_the_key_keeps_old_runs_directories_settings_and_resumes() -> None:
    assert overrides_folder() == "default"  # the names runs had before the key existed
    assert overrides_folder("optimizer.lr=0.01") == "optimizer.lr=0.01"
    assert overrides_folder(ACCEPT) == "task.accept_corpus=True"
    current = scientific_config(compose_config("task=ptb_lstm1"))
    stored = json.loads(json.dumps(current))
    del stored["task"]["accept_corpus"]  # a run stored before the key existed
    assert first_difference(stored, current) is None
    assert setting_digest(stored) == setting_digest(current)
    accepted = scientific_config(compose_config("task=ptb_lstm1", ACCEPT))
    assert first_difference(stored, accepted) == "task.accept_corpus"
    assert setting_digest(accepted) != setting_digest(current)
