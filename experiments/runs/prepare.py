"""From a composed config to a locked run directory ready to train, or an exit code.

Everything that can reject a config is built and checked (``experiments.assembly.build_run``)
before the run directory is created or locked, so bad input leaves no run directory; then, under
the lock, a finished run is reported and an unfinished one's checkpoint is read and checked for
the resume. Steps 3 and 4 of "One run, end to end" in ``docs/architecture.md``."""

from __future__ import annotations

import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from experiments.assembly import BuiltRun, build_run, build_task
from experiments.config_checks import ConfigError, check_run_keys, check_writable
from experiments.distributed import World, broadcast_from_main
from experiments.loop_options import LoopOptions
from experiments.runs import checkpoint, faults
from experiments.runs.identity import RunIdentity, first_difference, scientific_config
from experiments.runs.store import (
    CorruptRun,
    RunDirectory,
    RunLocked,
    is_storage_error,
    read_json,
    write_json,
)


@dataclass
class PreparedRun(BuiltRun):
    """A built run (``experiments.assembly``) with its locked run directory."""

    run: RunDirectory
    identity: dict[str, Any]
    device: torch.device
    saved: dict[str, Any] | None = None
    """The checkpoint the run resumes from (read and checked under the lock), or None."""

    @classmethod
    def of(
        cls,
        built: BuiltRun,
        run: RunDirectory,
        identity: dict[str, Any],
        device: torch.device,
        saved: dict[str, Any] | None = None,
    ) -> PreparedRun:
        return cls(**vars(built), run=run, identity=identity, device=device, saved=saved)


@contextmanager
def scratch_run(
    cfg: DictConfig, built: BuiltRun, device: torch.device, name: str
) -> Iterator[PreparedRun]:
    """A built run in a throw-away run directory (benchmarks, the GPU check): the loop trains it
    as any run; the directory is removed on exit."""
    identity = {"task": str(cfg.task.name), "optimizer": name, "seed": cfg.seed, "sweep": name,
                "overrides": {}, "name": name}  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        run = RunDirectory(Path(scratch) / "run")
        run.path.mkdir()
        yield PreparedRun.of(built, run, identity, device)


def _claim(
    run: RunDirectory, cfg: DictConfig, overrides: list[str], data: Mapping[str, str]
) -> dict[str, Any] | None:
    """Under the lock: start afresh with force, or read and check what a resume continues from
    (the checkpoint, the stored configs, the data it trained on, the metrics file); returns the
    checkpoint or None."""
    if cfg.force:
        run.clear()
        run.write_config(cfg, overrides)
        return None
    stored = run.stored_config()
    saved = checkpoint.load(run.checkpoint_path)
    current = scientific_config(cfg)
    references = {"config.yaml": stored, "checkpoint.pt": checkpoint.stored_config(saved)}
    for source, reference in references.items():
        if reference is None:
            continue
        differs = first_difference(scientific_config(reference), current)
        if differs is not None:
            raise ConfigError(
                f"{run.path} holds a run whose config differs in {differs!r} ({source}); "
                "resume with the same config, or force=true to start it again"
            )
    changed = checkpoint.data_difference(saved, data)
    if changed is not None:
        raise ConfigError(
            f"{run.path} holds a run whose data changed since its checkpoint ({changed}); "
            "resume on the data it trained on, or force=true to start it again"
        )
    if saved is not None:
        if checkpoint.DATA not in saved:
            print(f"{run.checkpoint_path} predates data hashes: resuming without a data check")
        run.check_metrics(checkpoint.metrics_offset(saved))
        if stored is None:
            print(f"{run.config_path} was missing: rewritten from checkpoint.pt's config")
    run.write_config(cfg, overrides)
    return saved


def data_changes(
    run: RunDirectory, cfg: DictConfig, world: World, now: Mapping[str, str] | None = None
) -> str | None:
    """What differs between the data hashes a finished run recorded (``meta.json``'s
    ``dataset_checksums``, written by every launch that trained) and the data in ``data_dir``
    now, in words (``with other data: … changed``, or that they cannot be checked); None when
    nothing differs or the run recorded none. Unless ``now`` gives them, the task is built on the
    CPU for its hashes (``Task.checksums``): a task build, paid only by a launch that finds its
    run finished."""
    recorded = (read_json(run.meta_path) or {}).get("dataset_checksums")
    if not isinstance(recorded, dict) or not recorded:
        return None
    try:
        now = now if now is not None else build_task(cfg, torch.device("cpu"), world).checksums
    except Exception as error:  # noqa: BLE001 - a finished run is reported whatever its data
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"but its data cannot be checked now ({text})"
    changed = [key for key in sorted(set(recorded) | set(now)) if recorded.get(key) != now.get(key)]
    return f"with other data: {', '.join(changed)} changed" if changed else None


def _finished(
    run: RunDirectory, cfg: DictConfig, world: World, now: Mapping[str, str] | None = None
) -> bool:
    """Whether a launch skips the directory (it holds a finished or diverged run); says where
    its results are, and whether the data in ``data_dir`` (hashed as ``now``, when the task is
    built already) differ from those it used."""
    action, status = run.launch_action(force=False)
    if action != "skip":
        return False
    if world.is_main:
        changes = data_changes(run, cfg, world, now)
        if changes is None:
            print(f"already finished ({status}): results in {run.path} (force=true re-runs)")
        else:
            print(
                f"already finished ({status}) {changes}; results in "
                f"{run.path} (force=true re-runs it)"
            )
    return True


def prepare(
    cfg: DictConfig,
    overrides: list[str],
    choices: dict[str, Any],
    world: World,
    device: torch.device,
) -> PreparedRun | int:
    """A locked (on rank 0) run directory and everything the loop trains, or the exit code to
    stop with (see the module docstring)."""
    decision: int | None = None
    prepared: PreparedRun | None = None
    run: RunDirectory | None = None
    created = False
    try:
        check_run_keys(cfg)
        LoopOptions.from_config(cfg)  # the recipe keys, checked before the directory exists
        identity = RunIdentity.of(cfg, overrides, choices)
        run = RunDirectory(identity.path)
        if not cfg.force and _finished(run, cfg, world):  # a first look, before building the run
            decision = 0
        else:
            check_writable(cfg.runs_dir)
            failure = None
            try:
                built = build_run(cfg, world, device)
            except ConfigError:
                raise
            except Exception as error:  # noqa: BLE001 - recorded as a failed run, then exit 1
                traceback.print_exc()
                failure = f"{type(error).__name__}: {error}"
            saved = None
            if world.is_main:
                faults.stop_before_lock()
                created = not run.path.exists()
                run.acquire()
                data = built.task.checksums if failure is None else None
                if not cfg.force and _finished(run, cfg, world, data):  # decided under the lock
                    decision = 0
                else:
                    saved = _claim(run, cfg, overrides, data or {})
            if decision is not None:
                pass
            elif failure is None:
                prepared = PreparedRun.of(built, run, identity.record(), device, saved)
            else:
                if world.is_main:
                    failed = {**identity.record(), "status": "failed", "error": failure}
                    write_json(run.summary_path, failed)
                decision = 1
    except (ConfigError, RunLocked, CorruptRun) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        decision = 2
    except OSError as error:
        if not is_storage_error(error):
            raise
        print(
            f"error: runs_dir={cfg.runs_dir!r} cannot take the run's files ({error.strerror}): "
            "free space or choose another runs_dir",
            file=sys.stderr,
            flush=True,
        )
        decision = 2
        if created and run is not None:
            run.release()
            shutil.rmtree(run.path, ignore_errors=True)
    decision = broadcast_from_main(decision, world)
    if decision is not None:
        if run is not None and world.is_main:
            run.release()
        return decision
    if prepared is not None and not world.is_main:
        prepared.saved = checkpoint.load(prepared.run.checkpoint_path)
    return prepared if prepared is not None else 2
