"""``task/size=smoke`` (configs/task/size/smoke.yaml, configs/task/smoke/): every language-model
and translation recipe composes at its smoke size, gets its own run directory while the default
size keeps existing ones, runs on tiny files in the real formats to a perplexity or a BLEU, and a
recipe without a smoke size is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.sample_corpora import write_iwslt14, write_ptb, write_release, write_wmt16
from experiments.config_checks import ConfigError, check_overrides
from experiments.runs.identity import run_dir, scientific_overrides
from tests.experiments.cli import read_summary
from tests.runs_in_process import compose_config, run_in_process

LANGUAGE_MODELS = ("ptb_lstm1", "ptb_lstm2", "ptb_lstm3", "lm1b_lstm")
TRANSLATION = ("iwslt14_de_en", "iwslt14_en_de", "wmt16_en_de")
RECIPES = LANGUAGE_MODELS + TRANSLATION


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_smoke_size_shrinks_the_model_and_budget_only_when_asked(recipe: str) -> None:
    real = compose_config(f"task={recipe}").task
    smoke = compose_config(f"task={recipe}", "task/size=smoke").task
    assert real.model.get("embed_dim", 512) >= 300 and smoke.model.embed_dim == 16
    assert smoke.epochs == 2 and smoke.accept_corpus is True and real.accept_corpus is False
    assert real.epochs != 2
    if recipe in TRANSLATION:
        assert smoke.model._target_.endswith("TransformerModel") and smoke.max_updates is None
        assert smoke.average.last == 2 and smoke.generation.beam == real.generation.beam
    unchanged = {key for key in real if key not in ("model", "epochs", "milestones")}
    assert {key for key in unchanged if real[key] != smoke[key]} <= {
        "accept_corpus", "batch_size", "bptt", "val_batch_size", "eval_bptt", "max_tokens",
        "max_updates", "warmup_updates", "update_freq", "average", "generation",
    }  # fmt: skip


def directory(*overrides: str) -> Path:
    cfg = compose_config("runs_dir=runs", *overrides, return_hydra_config=True)
    choices = dict(cfg.hydra.runtime.choices)
    found = scientific_overrides(list(cfg.hydra.overrides.task), cfg, choices)
    return run_dir(cfg, found, choices)


def test_smoke_runs_get_their_own_directory_and_old_runs_keep_theirs() -> None:
    assert directory("task=iwslt14_de_en") == Path("runs/single/iwslt14_de_en/adam/default/seed=1")
    assert directory("task=ptb_lstm1", "optimizer.lr=30") == Path(
        "runs/single/ptb_lstm1/adam/optimizer.lr=30/seed=1"
    )
    smoke = directory("task=iwslt14_de_en", "task/size=smoke")
    assert smoke.parts[:4] == ("runs", "single", "iwslt14_de_en", "adam")
    assert "smoke" in smoke.parts[4] and smoke != directory("task=iwslt14_de_en")


@pytest.mark.parametrize("task", ["digits", "cifar10_resnet20"])
def test_a_recipe_without_a_smoke_size_is_refused_in_one_line(task: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_overrides([f"task={task}", "task/size=smoke"])
    line = str(refused.value)
    assert "\n" not in line and line.startswith("task/size: this task has no smoke size")
    assert "ptb_lstm1" in line and "iwslt14_de_en" in line and f"{task}," not in line


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_release(root, train_shards=2, heldout_shards=2, per_shard=60)
    write_ptb(root, train=60, valid=20, test=20)
    write_iwslt14(root)
    write_wmt16(root)
    return root


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_smoke_size_trains_on_tiny_files_to_a_perplexity_or_a_bleu(
    recipe: str, data_dir: Path, tmp_path: Path
) -> None:
    done = run_in_process(
        tmp_path / "runs",
        [f"task={recipe}", "task/size=smoke", f"data_dir={data_dir}", "device=cpu", "max_steps=3",
         "log_every=1"],
    )  # fmt: skip
    assert done.returncode == 0 and done.run_dir is not None
    summary = read_summary(done.run_dir)
    assert summary["status"] == "finished" and summary["steps"] == 3
    metric = "test/ppl" if recipe in LANGUAGE_MODELS else "test/bleu"  # 3 steps take no snapshot
    assert summary["final"][metric] >= (1.0 if recipe in LANGUAGE_MODELS else 0.0)
