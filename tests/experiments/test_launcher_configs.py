"""The launcher configs: ``launcher=slurm`` selects Hydra's submitit_slurm with preemption-safe
defaults, and site values come from a git-ignored ``launcher/site/slurm.yaml`` found on Hydra's
search path (the committed example, installed in a scratch search-path folder here)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from tests.experiments.cli import CONFIG_DIR


def launcher_config(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True).hydra


def test_slurm_selects_submitit_slurm_with_requeue_on_the_warning_signal() -> None:
    hydra = launcher_config("launcher=slurm")
    assert hydra.runtime.choices["hydra/launcher"] == "submitit_slurm"
    launcher = hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.max_num_timeout >= 1 and launcher.signal_delay_s > 0
    assert launcher.submitit_folder == f"{hydra.sweep.dir}/.submitit/%j"


def test_a_site_file_on_the_search_path_sets_the_site_values(tmp_path: Path) -> None:
    site = tmp_path / "launcher" / "site"
    site.mkdir(parents=True)
    shutil.copy(CONFIG_DIR / "launcher" / "slurm_site.example.yaml", site / "slurm.yaml")
    search = f"hydra.searchpath=[file://{tmp_path}]"
    launcher = launcher_config("launcher=slurm", search).launcher
    assert (launcher.partition, launcher.account, launcher.gpus_per_node) == (
        "gpu",
        "my_project",
        1,
    )
    assert launcher.setup == ["module load cuda/12.4"]
    command_line = launcher_config("launcher=slurm", search, "hydra.launcher.partition=debug")
    assert command_line.launcher.partition == "debug"


def test_local_and_inline_launchers_ignore_the_slurm_site_file(tmp_path: Path) -> None:
    site = tmp_path / "launcher" / "site"
    site.mkdir(parents=True)
    shutil.copy(CONFIG_DIR / "launcher" / "slurm_site.example.yaml", site / "slurm.yaml")
    search = f"hydra.searchpath=[file://{tmp_path}]"
    assert "partition" not in launcher_config("launcher=local", search).launcher
    assert launcher_config("launcher=inline", search).runtime.choices["hydra/launcher"] == "basic"
