"""Checks of the language-model recipes' keys: one line naming the key and what is allowed
(``ConfigError``, exit 2), before any data is read."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf

from experiments.config_checks import ConfigError, non_negative, probability
from experiments.config_checks import positive_int as checked_count

# ``key`` is relative to ``task`` and may be dotted (``model.layers``).


def positive_int(cfg: DictConfig, key: str) -> int:
    return checked_count(f"task.{key}", OmegaConf.select(cfg, key))


def choice(cfg: DictConfig, key: str, allowed: Sequence[str]) -> str:
    value = OmegaConf.select(cfg, key)
    if value not in allowed:
        raise ConfigError(f"task.{key}={value!r} is invalid: one of {', '.join(allowed)}")
    return value


def probabilities(cfg: DictConfig, keys: Sequence[str], below_one: Sequence[str] = ()) -> None:
    """Each of ``keys`` a number in [0, 1] (in [0, 1) for those in ``below_one``)."""
    for key in keys:
        probability(f"task.{key}", OmegaConf.select(cfg, key), below_one=key in below_one)


def non_negatives(cfg: DictConfig, keys: Sequence[str]) -> None:
    for key in keys:
        non_negative(f"task.{key}", OmegaConf.select(cfg, key))


def selection(cfg: DictConfig, splits: Sequence[str]) -> str | None:
    """``task.selection`` (null: the contract's default), a ``<split>/loss|ppl`` of this task."""
    value = cfg.get("selection")
    if value is None:
        return None
    allowed = [f"{split}/{leaf}" for split in splits for leaf in ("ppl", "loss")]
    if value not in allowed:
        raise ConfigError(f"task.selection={value!r} is invalid: one of {', '.join(allowed)}")
    return value


def cutoffs(values: Sequence[int], vocabulary: int, key: str) -> list[int]:
    """Adaptive-softmax cutoffs: positive, strictly increasing, below the vocabulary size."""
    found = [int(v) for v in values]
    increasing = all(b > a for a, b in zip(found, found[1:], strict=False))
    if not found or found[0] < 1 or not increasing or found[-1] >= vocabulary:
        raise ConfigError(
            f"{key}={found} is invalid with a {vocabulary:,}-word vocabulary: positive, strictly "
            "increasing and below the vocabulary size (scale them down for a small corpus)"
        )
    return found
