"""The launcher configs: ``launcher=`` offers exactly ``local``, ``inline`` and ``slurm``;
``launcher=slurm`` selects the suite's Hydra launcher with submitit's Slurm keys and
preemption-safe defaults, and site values come from a git-ignored ``launcher/site/slurm.yaml``
found on Hydra's search path (the committed example, ``docs/slurm_site.example.yaml``, installed
in a scratch search-path folder here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from experiments.config_checks import ConfigError, check_overrides
from tests.experiments.cli import CONFIG_DIR, REPO_ROOT
from tests.runs_in_process import compose_config

LAUNCHERS = ["inline", "local", "slurm"]
SITE_EXAMPLE = REPO_ROOT / "docs" / "slurm_site.example.yaml"


def launcher_config(*overrides: str) -> DictConfig:
    return compose_config(*overrides, return_hydra_config=True).hydra


def install_site_file(folder: Path) -> str:
    """The example site file at ``<folder>/launcher/site/slurm.yaml``; the search-path override."""
    site = folder / "launcher" / "site"
    site.mkdir(parents=True)
    shutil.copy(SITE_EXAMPLE, site / "slurm.yaml")
    return f"hydra.searchpath=[file://{folder}]"


def test_the_launcher_group_offers_exactly_the_launchers() -> None:
    """Hydra's options for ``launcher=``: what ``--help``, tab completion and the closest-option
    hints list."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        options = GlobalHydra.instance().config_loader().get_group_options("launcher")
    assert sorted(options) == LAUNCHERS


@pytest.mark.parametrize("with_site_file", [False, True])
def test_a_mistyped_launcher_lists_only_the_launchers(tmp_path: Path, with_site_file) -> None:
    overrides = [install_site_file(tmp_path)] if with_site_file else []
    with pytest.raises(ConfigError) as refused:
        check_overrides(["launcher=slurmx", *overrides])
    assert str(refused.value) == (
        "launcher=slurmx is not a config of launcher: did you mean slurm? "
        "options: inline, local, slurm"
    )


def test_the_site_example_is_outside_the_config_groups() -> None:
    assert SITE_EXAMPLE.is_file()
    assert sorted(p.stem for p in (CONFIG_DIR / "launcher").glob("*.yaml")) == LAUNCHERS
    assert not list(CONFIG_DIR.rglob("*example*"))


def test_slurm_selects_the_suite_launcher_with_requeue_on_the_warning_signal() -> None:
    hydra = launcher_config("launcher=slurm")
    assert hydra.runtime.choices["hydra/launcher"] == "optrepro_slurm"
    launcher = hydra.launcher
    assert launcher._target_ == "hydra_plugins.optrepro_launcher.launcher.SuiteLauncher"
    assert launcher.kind == "slurm"
    assert launcher.max_num_timeout >= 1 and launcher.signal_delay_s > 0
    assert launcher.submitit_folder == f"{hydra.sweep.dir}/.submitit/%j"


def test_a_site_file_on_the_search_path_sets_the_site_values(tmp_path: Path) -> None:
    search = install_site_file(tmp_path)
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
    search = install_site_file(tmp_path)
    assert "partition" not in launcher_config("launcher=local", search).launcher
    assert "partition" not in launcher_config("launcher=inline", search).launcher


def test_every_launcher_is_the_suite_launcher_found_by_hydra_plugin_discovery() -> None:
    """Hydra's plugin discovery lists the suite's launcher, and each ``launcher=`` option selects
    it with its kind (what ``-m`` runs: Hydra's sweeper, the suite's launcher)."""
    from hydra.core.plugins import Plugins
    from hydra.plugins.launcher import Launcher

    assert "SuiteLauncher" in [plugin.__name__ for plugin in Plugins.instance().discover(Launcher)]
    for kind in ("local", "inline", "slurm"):
        hydra = launcher_config(f"launcher={kind}")
        assert hydra.launcher._target_.endswith("optrepro_launcher.launcher.SuiteLauncher")
        assert hydra.launcher.kind == kind
