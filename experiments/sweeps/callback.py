"""Hydra callback of every sweep (``hydra.callbacks.sweep`` in ``configs/train.yaml``).

Before Hydra builds the sweeper, a tuner gets the suite's defaults: the direction of the task's
validation headline metric (``val/acc`` maximized, ``val/ppl`` minimized) unless the user gave
one, and a fixed sampler seed unless the user gave one, so the same command proposes the same
trials (a relaunch then replays them: finished trials return their recorded values). After the
sweep (also when it was stopped or refused) the closing report is printed."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from experiments.sweeps import session
from experiments.sweeps.expansion import is_tuner
from experiments.sweeps.objective import direction, objective_metric

DEFAULT_SAMPLER_SEED = 0


def _given(config: DictConfig, key: str) -> bool:
    return any(o.split("=")[0].lstrip("+~") == key for o in config.hydra.overrides.hydra)


class SweepCallback(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not is_tuner(config):
            return
        sweeper = config.hydra.sweeper
        with read_write(sweeper), open_dict(sweeper):
            headline = config.task.get("headline")
            if (
                "direction" in sweeper
                and headline
                and not _given(config, "hydra.sweeper.direction")
            ):
                sweeper.direction = direction(objective_metric(headline))
            sampler = sweeper.get("sampler")
            if sampler is not None and "seed" in sampler and sampler.seed is None:
                sampler.seed = DEFAULT_SAMPLER_SEED
        quiet_optuna()
        said = [str(sweeper._target_).rsplit(".", 1)[-1]]
        if headline:
            said.append(f"objective: the best {objective_metric(headline)} of each run")
        for key in ("direction", "n_trials", "n_jobs"):
            if key in sweeper:
                said.append(f"{key} {sweeper[key]}")
        if sampler is not None:
            seed = f" seed {sampler.seed}" if "seed" in sampler else ""
            said.append(f"sampler {str(sampler.get('_target_', '')).rsplit('.', 1)[-1]}{seed}")
        print(f"tuning: {', '.join(said)}", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if session.current is not None:
            session.current.close()


def quiet_optuna() -> None:
    """Optuna's own INFO lines (a study created in memory, ...) repeat what the sweep prints."""
    try:
        import optuna
    except ImportError:
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
