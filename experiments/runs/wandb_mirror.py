"""Mirror a run to Weights & Biases; the local run directory stays the source of truth.

Mode (``experiments/runs/wandb_mode.py``): ``auto`` is online only where wandb would find an
API key (``WANDB_API_KEY``, or a netrc entry for the host of ``WANDB_BASE_URL``); offline, the
run is recorded under ``<run_dir>/wandb/`` and one line says why and how to upload it later
(``wandb sync``).

Identity: the W&B run id is kept in ``<run_dir>/wandb_id``, so a resumed run continues the
same W&B run; a ``force=true`` launch, which starts the run afresh, starts a new W&B run with a
new id and leaves the old one as it was.

History: event ``i`` of ``metrics.jsonl`` (its ``i``-th line) is W&B's history row
``_step = i``, so W&B's history is the local store, line for line. A kill loses the events
after the last checkpoint from ``metrics.jsonl`` (the resumed run logs them again), and loses
from W&B the rows ``wandb`` had not yet written (it writes its transaction log in 32 KiB
blocks, and a killed process never writes its last one). So at the start the mirror asks
W&B what it holds (``held`` rows: offline, from its transaction logs under
``<run_dir>/wandb/``, ``experiments/runs/wandb_history.py``; online, from the server, through
``run.starting_step``), uploads what W&B lacks of the events kept in ``metrics.jsonl``, and
then skips each event W&B already holds. Every row is in W&B once, and a skipped row equals
the one W&B has (a resume is exact; only ``time`` differs). W&B's own rewind
(``resume_from="<id>?_step=<n>"``) is not used: offline it only writes a branch point into the
new log, which the previous launch's log still contradicts until a server applies it at
``wandb sync``, and it needs server support. A count of logged rows kept by the mirror in the
run directory is not used either: ``wandb`` has not written the rows it was handed when the
process is killed, so such a count overstates what W&B holds.

Summaries: each metric's W&B summary is its best by the suite's rule
(``experiments/metric_direction.py``: ``min`` for losses, ``max`` otherwise), defined when the
metric is first logged, so W&B's tables sort as the suite's do. At the end the summary also
gets the sweep's ``objective`` (``experiments/sweeps/objective.py``; left out when it is the
±inf of a run that did not finish) and the time-to-target fields (``target/reached``,
``target/update``, ``target/time_train``, …) of ``summary.json``'s ``target``.

Any W&B failure disables the mirror with a warning; training and the local record go on.
"""

from __future__ import annotations

import math
import sys
import uuid
from pathlib import Path
from typing import Any

from experiments.metric_direction import metric_mode
from experiments.runs.wandb_history import count_events, events_from, held_rows
from experiments.runs.wandb_mode import OFFLINE_MODES, resolve_mode
from experiments.sweeps.objective import run_objective

BOOKKEEPING = frozenset({"step", "epoch", "time"})  # logged with every event; not metrics


def run_id(run_dir: Path, fresh: bool) -> str:
    """The W&B run id kept in ``<run_dir>/wandb_id``; a new one when ``fresh`` or none."""
    path = run_dir / "wandb_id"
    kept = path.read_text().strip() if path.exists() and not fresh else ""
    chosen = kept or uuid.uuid4().hex[:8]
    path.write_text(chosen + "\n")
    return chosen


def _init(
    run_dir: Path,
    settings: dict[str, Any],
    config: dict[str, Any],
    identity: dict[str, Any],
    wandb_id: str,
    mode: str,
) -> Any:
    """``wandb.init`` of the run's W&B run: group = sweep, tags = task and optimizer, name =
    the run's identity; every metric plotted against the suite's ``step``."""
    import wandb

    run = wandb.init(
        project=settings.get("project"),
        entity=settings.get("entity"),
        group=identity["sweep"],
        tags=[identity["task"], identity["optimizer"]],
        name=identity["name"],
        config={**config, "identity": identity},
        dir=str(run_dir),
        id=wandb_id,
        resume="allow",
        mode=mode,
    )
    run.define_metric("*", step_metric="step")
    return run


class WandbMirror:
    def __init__(self, run: Any, held: int, next_index: int) -> None:
        self.run, self.held, self.next_index = run, held, next_index
        self.defined: set[str] = set()

    @classmethod
    def start(
        cls,
        run_dir: Path,
        settings: dict[str, Any],
        config: dict[str, Any],
        identity: dict[str, Any],
        metrics: Path,
        fresh: bool = False,
    ) -> WandbMirror | None:
        """Start (or resume) the W&B run of ``run_dir`` and upload the events of ``metrics``
        W&B lacks; ``fresh``: a new W&B run (``force=true``). None when W&B fails."""
        mode, reason = resolve_mode(settings.get("mode", "auto"))
        offline = mode in OFFLINE_MODES
        try:
            wandb_id = run_id(run_dir, fresh)
            held = held_rows(run_dir / "wandb", wandb_id)  # the earlier launches' logs
            run = _init(run_dir, settings, config, identity, wandb_id, mode)
            if offline:
                print(
                    f"W&B offline: {reason}; sync later with: "
                    f"wandb sync {run_dir}/wandb/offline-run-*-{wandb_id}"
                )
            return cls.caught_up(run, held if offline else run.starting_step, metrics)
        except Exception as error:  # noqa: BLE001 - the mirror must never stop training
            print(
                f"warning: W&B mirror disabled ({type(error).__name__}: {error})", file=sys.stderr
            )
            return None

    @classmethod
    def caught_up(cls, run: Any, held: int, metrics: Path) -> WandbMirror:
        """A mirror whose W&B run holds ``held`` rows, after uploading the events that
        ``metrics`` keeps beyond them; the next event logged is the file's next line."""
        mirror = cls(run, held, min(held, count_events(metrics)))
        for event in events_from(metrics, held):
            mirror.log(event)
        return mirror

    def _guard(self, action: str, call: Any) -> None:
        if self.run is None:
            return
        try:
            call()
        except Exception as error:  # noqa: BLE001
            print(f"warning: W&B {action} failed, mirror disabled ({error})", file=sys.stderr)
            self.run = None

    def _define(self, event: dict[str, Any]) -> None:
        """Give each metric seen for the first time its summary: its best, by the suite's
        rule (W&B's default, the last value, would sort W&B's tables differently)."""
        for name in sorted(event.keys() - self.defined - BOOKKEEPING):
            self.run.define_metric(name, step_metric="step", summary=metric_mode(name))
            self.defined.add(name)

    def log(self, event: dict[str, Any]) -> None:
        """Mirror the next event of ``metrics.jsonl``, unless W&B holds its row already."""
        index, self.next_index = self.next_index, self.next_index + 1
        if index < self.held:
            return

        def send() -> None:
            self._define(event)
            self.run.log(event, step=index)

        self._guard("log", send)

    def finish(self, summary: dict[str, Any], exit_code: int) -> None:
        def close() -> None:
            for key in ("status", "steps", "epochs", "time_total", "diverged_at"):
                if summary.get(key) is not None:
                    self.run.summary[key] = summary[key]
            for key, value in (summary.get("final") or {}).items():
                self.run.summary[f"final/{key}"] = value
            for key, best in (summary.get("best") or {}).items():
                self.run.summary[f"best/{key}"] = best["value"]
            for key, value in ((summary.get("at_best") or {}).get("metrics") or {}).items():
                self.run.summary[f"at_best/{key}"] = value
            for key, value in end_summary(summary).items():
                self.run.summary[key] = value
            self.run.finish(exit_code=exit_code)

        self._guard("finish", close)


def end_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The run's sweep objective (when finite) and its ``target/…`` fields (those not null)."""
    values: dict[str, Any] = {}
    objective = run_objective(summary)
    if objective is not None and math.isfinite(objective):
        values["objective"] = objective
    for key, value in (summary.get("target") or {}).items():
        if value is not None:
            values[f"target/{key}"] = value
    return values
