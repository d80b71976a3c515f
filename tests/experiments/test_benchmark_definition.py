"""Benchmark definitions: every search space is a distribution Hydra's Optuna sweeper builds and
samples reproducibly, every benchmark's runs compose (the real-task one included, not run
here), and every bad input is refused in one line before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override

from experiments.benchmark.command import main
from experiments.benchmark.definition import load_benchmark, search_space
from experiments.config_dir import CONFIG_DIR
from tests.runs_in_process import REPO_ROOT, compose_config

FAMILIES = sorted(path.stem for path in (CONFIG_DIR / "search").glob("*.yaml"))


def distributions(family: str) -> dict[str, optuna.distributions.BaseDistribution]:
    """The family's space as the Optuna sweeper turns command-line overrides into distributions."""
    parser = OverridesParser.create()
    overrides = parser.parse_overrides([f"{k}={v}" for k, v in search_space(family).items()])
    return {o.get_key_element(): create_optuna_distribution_from_override(o) for o in overrides}


@pytest.mark.parametrize("family", FAMILIES)
def test_each_search_space_is_a_log_uniform_space_of_keys_its_optimizer_has(family: str) -> None:
    found = distributions(family)
    assert any(key.lstrip("+") == "optimizer.lr" for key in found)
    target = ["optimizer._target_=x.Y"] if family == "custom" else []
    optimizer = compose_config(f"optimizer={family}", *target).optimizer
    for key, distribution in found.items():
        assert isinstance(distribution, optuna.distributions.LogUniformDistribution), key
        assert 0 < distribution.low < distribution.high
        assert (key.lstrip("+").split(".")[1] in optimizer) == (not key.startswith("+"))


def test_sgd_tunes_the_lr_with_momentum_fixed_and_adabound_its_final_lr() -> None:
    assert set(distributions("sgd")) == {"optimizer.lr"}
    assert compose_config("optimizer=sgd").optimizer.momentum == 0.9
    assert set(distributions("adabound")) == {"optimizer.lr", "optimizer.final_lr"}
    assert set(distributions("custom")) == {"++optimizer.lr"}


def test_the_seeded_random_sampler_proposes_the_same_trials_and_a_prefix_for_fewer() -> None:
    space = distributions("adabound")

    def trials(n: int, seed: int) -> list[dict[str, float]]:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        return [study.ask(space).params for _ in range(n)]

    assert trials(5, 0) == trials(5, 0)
    assert trials(3, 0) == trials(5, 0)[:3]  # a smaller budget is the larger one's first trials
    assert trials(5, 0) != trials(5, 1)


@pytest.mark.parametrize("name", ["offline", "paper_tasks"])
def test_every_study_of_a_benchmark_composes(name: str) -> None:
    bench = load_benchmark(name, "smoke")
    assert len(bench.optimizers) >= 5 and {o.label for o in bench.optimizers} >= {
        "adam", "adamw", "radam", "adabound", "sgd"
    }  # fmt: skip
    pairs = [(task, bench.optimizers[0]) for task in bench.tasks]
    pairs += [(bench.tasks[0], study) for study in bench.optimizers[1:]]
    for task, study in pairs:  # each task once, each optimizer once
        cfg = compose_config(*task.overrides, *study.overrides)
        assert cfg.task.name == task.label
        assert cfg.optimizer._target_.rsplit(".", 1)[-1].lower() == study.label
        if cfg.task.name.startswith("cifar10"):
            assert cfg.task.val_size == 5000  # the CIFAR recipes select on test otherwise
    assert bench.sweep == f"benchmark/{name}/smoke"


def test_a_candidate_goes_first_with_its_presets_space_or_the_custom_one() -> None:
    bench = load_benchmark("offline", "default", ["optimizer=custom", "optimizer._target_=a.B"])
    assert bench.optimizers[0].label == "B" and bench.optimizers[0].family == "custom"
    assert bench.optimizers[0].candidate and bench.trials == 8 and bench.seeds == (1, 2, 3)
    preset = load_benchmark("offline", "5", ["optimizer=amsgrad"], family="adam")
    assert preset.optimizers[0].params == search_space("adam") and preset.trials == 5
    assert preset.budget == "trials5"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["benchmark=offlne"], "did you mean offline"),
        (["benchmark.budget=huge"], "benchmark.budget=huge is not a budget"),
        (["benchmark.budget=0"], "benchmark.budget=0 is not a budget"),
        (["optimizer=adamm"], "did you mean adam"),
        (["optimizer=custom"], "optimizer=custom needs optimizer._target_"),
        (["optimizer=adam"], "the candidate adam is already a baseline"),
        (["optimizer=amsgrad", "search=nope"], "search=nope is not a config of search"),
        (["optimizer.lr=0.1"], "a candidate needs optimizer=<preset>"),
        (["verbose"], "arguments are key=value"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    arguments: list[str], said: str, tmp_path: Path, capsys
) -> None:
    assert main([*arguments, f"runs_dir={tmp_path}", f"out={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err, err
    assert not any(tmp_path.iterdir())


def test_the_command_refuses_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.benchmark", "benchmark=nope", f"runs_dir={tmp_path}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: benchmark=nope is not")
    assert done.stderr.count("\n") == 1
