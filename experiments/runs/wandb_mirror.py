"""Mirror a run to Weights & Biases; the local run directory stays the source of truth.

Without an API key (or with ``mode: offline``) the run is recorded offline under
``<run_dir>/wandb/`` and can be uploaded later with ``wandb sync``. The W&B run id is kept in
``<run_dir>/wandb_id`` so a resumed run continues the same W&B run. Any W&B failure disables
the mirror with a warning; training and the local record go on.
"""

from __future__ import annotations

import netrc
import os
import sys
import uuid
from pathlib import Path
from typing import Any


def _has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def resolve_mode(mode: str) -> str:
    """``auto`` is online only where credentials exist; ``WANDB_MODE`` in the environment wins."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if mode == "auto":
        return "online" if _has_credentials() else "offline"
    return mode


class WandbMirror:
    def __init__(self, run: Any) -> None:
        self.run = run

    @classmethod
    def start(
        cls,
        run_dir: Path,
        settings: dict[str, Any],
        config: dict[str, Any],
        identity: dict[str, Any],
    ) -> WandbMirror | None:
        mode = resolve_mode(settings.get("mode", "auto"))
        id_path = run_dir / "wandb_id"
        try:
            import wandb

            run_id = id_path.read_text().strip() if id_path.exists() else uuid.uuid4().hex[:8]
            id_path.write_text(run_id + "\n")
            run = wandb.init(
                project=settings.get("project"),
                entity=settings.get("entity"),
                group=identity["sweep"],
                tags=[identity["task"], identity["optimizer"]],
                name=identity["name"],
                config={**config, "identity": identity},
                dir=str(run_dir),
                id=run_id,
                resume="allow",
                mode=mode,
            )
            run.define_metric("*", step_metric="step")
        except Exception as error:  # noqa: BLE001 - the mirror must never stop training
            print(
                f"warning: W&B mirror disabled ({type(error).__name__}: {error})", file=sys.stderr
            )
            return None
        if mode == "offline":
            offline = f"{run_dir}/wandb/offline-run-*"
            print(f"W&B is offline: the run is in {offline}; upload it with: wandb sync {offline}")
        return cls(run)

    def _guard(self, action: str, call: Any) -> None:
        if self.run is None:
            return
        try:
            call()
        except Exception as error:  # noqa: BLE001
            print(f"warning: W&B {action} failed, mirror disabled ({error})", file=sys.stderr)
            self.run = None

    def log(self, event: dict[str, Any]) -> None:
        self._guard("log", lambda: self.run.log(event))

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
            self.run.finish(exit_code=exit_code)

        self._guard("finish", close)
