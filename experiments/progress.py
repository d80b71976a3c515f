"""Progress output: a bar on a terminal, one plain line every ``log_every`` steps otherwise
(Slurm logs, CI), so long runs always show what they are doing. Throughput is in the task's
unit (samples/s or tokens/s)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Progress:
    def __init__(
        self,
        total_steps: int,
        initial_step: int,
        label: str,
        unit: str = "samples",
        enabled: bool = True,
    ) -> None:
        self.total, self.label, self.unit, self.enabled = total_steps, label, unit, enabled
        self.bar = (
            tqdm(total=total_steps, initial=initial_step, desc=label, dynamic_ncols=True)
            if enabled and sys.stdout.isatty()
            else None
        )

    def update(self, step: int, epoch: float, event: dict[str, Any], per_second: float) -> None:
        """Called at every logged step with the event written to ``metrics.jsonl``."""
        loss, lr = event.get("train/loss"), event.get("train/lr")
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix(
                {"loss": f"{loss:.4f}", "lr": f"{lr:.2e}", f"{self.unit}/s": f"{per_second:.0f}"}
            )
            return
        print(
            f"{self.label} step {step}/{self.total} | epoch {epoch:.2f} | "
            f"loss {loss:.4f} | lr {lr:.3e} | {per_second:.0f} {self.unit}/s",
            flush=True,
        )

    def evaluation(self, step: int, metrics: dict[str, float]) -> None:
        text = " ".join(f"{key} {value:.4f}" for key, value in sorted(metrics.items()))
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(f"step {step}: {text}")
        else:
            print(f"{self.label} step {step}/{self.total} | {text}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
