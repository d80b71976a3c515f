"""The command line of ``python -m experiments.train [overrides]`` (``experiments.train`` installs
quiet start-up signal handlers, then calls ``main``)."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from experiments.config_checks import CONFIG_DIR, ConfigError, check_overrides
from experiments.lifecycle import run_one
from experiments.sweeps.controller import run_sweep

_exit_codes: list[int] = []


@hydra.main(config_path=str(CONFIG_DIR), config_name="train", version_base="1.3")
def hydra_entry(cfg: DictConfig) -> int:
    hydra_cfg = HydraConfig.get()
    code = run_one(cfg, list(hydra_cfg.overrides.task), dict(hydra_cfg.runtime.choices))
    _exit_codes.append(code)
    return code


def main() -> None:
    arguments = sys.argv[1:]
    if any(argument in ("-m", "--multirun") for argument in arguments):
        sys.exit(run_sweep(arguments))
    if arguments and not any(a.startswith("-") for a in arguments):
        try:
            check_overrides(arguments)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
    hydra_entry()
    codes = set(_exit_codes)
    sys.exit(1 if 1 in codes else 2 if 2 in codes else 0)
