"""A corpus checked against the fixed release it is meant to be, when a task is built.

Each corpus package holds its release's facts as data beside their source (``data.ptb.files``:
Mikolov's line and token counts; ``data.lm1b.files``: the r13 sentence counts;
``data.iwslt14.files`` and ``data.wmt16.files``: the prepared pair counts) and says what differs
in one phrase per file or split. ``settle`` turns that list into the task's decision
a corpus that differs is refused in one line (``CorpusDiffers``, exit 2,
before training and before any run directory exists) unless the recipe's ``task.accept_corpus``
is true, in which case one line says it differs and the found counts join the run's data
checksums (``meta.json`` and the checkpoint's ``data``), so a run on a partial or different copy
says so wherever its numbers go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from data import DataError

ACCEPT_KEY = "task.accept_corpus"
CHECKSUM_KEY = "release_differences"
"""``<corpus>/release_differences``: the checksum entry of an accepted corpus that differs (it
sorts after PTB's file names, so a resume refused on changed data names the file first)."""


class CorpusDiffers(DataError):
    """The corpus on disk is not the release the recipe reproduces (one line, exit 2)."""


def accepted(value: object) -> bool:
    """``task.accept_corpus`` checked when the task's keys are (absent: false, as in recipes
    stored before the key existed); a ``DataError`` (one line) when it is not a boolean."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DataError(f"{ACCEPT_KEY}={value!r} is invalid: true or false")
    return value


def settle(
    key: str,
    what: str,
    release: str,
    differences: Sequence[str],
    *,
    accept: bool,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> dict[str, str]:
    """Nothing when ``differences`` is empty; else ``CorpusDiffers`` naming ``what`` (the corpus
    and its folder), each difference and the key, or (``accept``) a logged line and the checksum
    entry ``<key>/release_differences`` recording the counts found."""
    if not differences:
        return {}
    found = "; ".join(differences)
    if not accept:
        raise CorpusDiffers(
            f"{what} differs from {release}: {found}; a partial or different "
            f"corpus trains only with {ACCEPT_KEY}=true"
        )
    log(f"{what} differs from {release}: {found}; training on it ({ACCEPT_KEY}=true)")
    return {f"{key}/{CHECKSUM_KEY}": found}


def count_difference(name: str, unit: str, found: int, release: int) -> str | None:
    """``"<name>: <found> <unit> (the release: <release>)"`` when the two differ, else None."""
    if found == release:
        return None
    return f"{name}: {found:,} {unit} (the release: {release:,})"
