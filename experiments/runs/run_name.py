"""The run name ``<sweep>/<task>/<optimizer>/<overrides>/seed=<s>``, written and read back.

``experiments.runs.identity`` names each run directory with ``run_name_parts``; the tables read a
name back with ``parse_run_name`` (a run directory without ``summary.json``, a W&B run name). Both
directions live here so the format has one definition. The module imports nothing heavy: the
table command reads thousands of names and must not pay for torch or Hydra.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_COMPONENT = 180
"""The longest ``<overrides>`` component; a longer one is cut and ends in a hash of the whole."""

_SEED = re.compile(r"^seed=(-?\d+)$")
_HASHED = re.compile(r"-[0-9a-f]{12}$")


def overrides_component(overrides: Mapping[str, str]) -> str:
    """One path component for the overrides: ``key=value,key=value`` or ``default``."""
    if not overrides:
        return "default"
    text = ",".join(f"{key}={value}" for key, value in overrides.items()).replace("/", "_")
    if len(text) <= MAX_COMPONENT:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{text[: MAX_COMPONENT - 13]}-{digest}"


def run_name_parts(
    sweep: str, task: str, optimizer: str, overrides: Mapping[str, str], seed: Any
) -> tuple[str, str, str, str, str]:
    """The five path components of a run directory below ``runs_dir``."""
    return (
        sweep.replace("/", "_"),
        task,
        optimizer,
        overrides_component(overrides),
        f"seed={seed}",
    )


def split_top_level(text: str) -> list[str]:
    """Split ``key=value,key=[a,b]`` on the commas outside brackets and braces."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def parse_overrides_component(component: str, group_keys: Iterable[str] = ()) -> dict[str, str]:
    """Invert ``overrides_component`` as far as it can be inverted.

    The directory name replaced ``/`` by ``_``: a key equal to a nested config group with that
    substitution (``schedule_warmup`` for ``schedule/warmup``) gets its ``/`` back. A component
    shortened with a hash cannot be read back and is kept whole under the key ``<hashed>``.
    """
    if component == "default":
        return {}
    if len(component) == MAX_COMPONENT and _HASHED.search(component):
        return {"<hashed>": component}
    restore = {key.replace("/", "_"): key for key in group_keys if "/" in key}
    result: dict[str, str] = {}
    for part in split_top_level(component):
        key, _, value = part.partition("=")
        result[restore.get(key, key)] = value
    return result


def parse_run_name(name: str, group_keys: Iterable[str] = ()) -> dict[str, Any]:
    """``<sweep>/<task>/<optimizer>/<overrides>/seed=<s>`` read back into its parts (``sweep``,
    ``task``, ``optimizer``, ``overrides``, ``seed``); empty parts and seed None for a name that
    is not a run name. ``group_keys``: the config groups, so ``schedule_warmup`` reads back as
    ``schedule/warmup``."""
    parts = name.strip("/").split("/")
    seed_match = _SEED.match(parts[-1]) if parts else None
    if seed_match is None or len(parts) < 5:
        return {"sweep": "", "task": "", "optimizer": "", "overrides": {}, "seed": None}
    return {
        "sweep": "/".join(parts[:-4]),
        "task": parts[-4],
        "optimizer": parts[-3],
        "overrides": parse_overrides_component(parts[-2], group_keys),
        "seed": int(seed_match.group(1)),
    }
