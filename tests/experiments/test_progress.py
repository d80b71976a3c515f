"""Progress output: one plain line every ``log_every`` steps when stdout is not a terminal (Slurm
logs), a progress bar with loss, lr and samples/s on a terminal; lines name the run by a short
label, and evaluation lines show the headline metric only (``metrics.jsonl`` has everything)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios

from experiments.progress import headline_keys, run_label, shown_metrics
from tests.experiments.cli import TIMEOUT_S, Workspace, read_metrics, read_summary, train_env

OVERRIDES = ("task.epochs=1", "log_every=5", "device=cpu")  # 40 steps
LABEL = r"digits/adam/s1#[0-9a-f]{6}"


def test_the_run_label_is_short_and_tells_runs_apart() -> None:
    identity = {"task": "wmt16_transformer", "optimizer": "radam", "seed": 3}
    first = run_label({**identity, "name": "paper/wmt16_transformer/radam/lr=0.001/seed=3"})
    second = run_label({**identity, "name": "paper/wmt16_transformer/radam/lr=0.002/seed=3"})
    assert re.fullmatch(r"wmt16_transformer/radam/s3#[0-9a-f]{6}", first)
    assert first != second


def test_evaluation_lines_show_the_headline_metric_across_splits() -> None:
    metrics = {"val/loss": 1.0, "val/acc": 90.0, "test/loss": 1.1, "test/acc": 89.0}
    assert headline_keys(metrics, shown_metrics("test/acc", "val/loss")) == ["test/acc", "val/acc"]
    averaged = {"avg/test/bleu": 27.1, "test/bleu": 26.9, "test/base2/ppl": 4.0, "test/ppl": 4.1}
    shown = shown_metrics("avg/test/bleu", "val/loss")
    assert headline_keys(averaged, shown) == ["avg/test/bleu", "test/bleu"]
    intermediate = {"val/loss": 2.0, "val/ppl": 7.4}  # no BLEU outside full evaluations
    assert headline_keys(intermediate, shown) == ["val/loss"]


def test_without_a_terminal_one_plain_line_every_log_every_steps(workspace: Workspace) -> None:
    result = workspace.run(OVERRIDES)
    assert result.returncode == 0, result.describe()
    assert result.run_dir is not None
    output = result.stdout + result.stderr
    assert "\r" not in output and "%|" not in output, "no progress bar in a log file"
    lines = [line for line in result.stdout.splitlines() if "samples/s" in line]
    steps = [int(re.search(r"step (\d+)", line).group(1)) for line in lines]
    assert steps == list(range(5, 41, 5))
    assert all(re.match(LABEL + " step ", line) for line in lines), lines
    evaluations = [line for line in result.stdout.splitlines() if re.match(LABEL, line)]
    evaluations = [line for line in evaluations if "samples/s" not in line]
    final = read_summary(result.run_dir)["final"]
    shown = f"test/acc {final['test/acc']:.4f} val/acc {final['val/acc']:.4f}"
    assert evaluations[-1].endswith(f"step 40/40 | {shown}"), evaluations
    assert all("loss" not in line for line in evaluations), "the headline metric only"
    logged = {e["step"]: e for e in read_metrics(result.run_dir) if "train/loss" in e}
    for step, line in zip(steps, lines, strict=True):
        loss = float(re.search(r"loss ([0-9.]+)", line).group(1))
        assert abs(loss - logged[step]["train/loss"]) <= 5e-5, line
        assert re.search(r"\blr\b", line), line
        assert re.search(r"[0-9.]+ samples/s", line), line


def run_on_a_terminal(workspace: Workspace) -> tuple[int, str]:
    """Run the command with stdin, stdout and stderr on a pseudo-terminal (120 columns)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        workspace.command(OVERRIDES),
        cwd=workspace.cwd,
        env=train_env(TERM="xterm"),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=TIMEOUT_S), b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_a_progress_bar_shows_loss_lr_and_throughput(workspace: Workspace) -> None:
    returncode, output = run_on_a_terminal(workspace)
    assert returncode == 0, output
    assert "%|" in output, output
    bar = [line for line in re.split(r"[\r\n]", output) if "%|" in line]
    assert any("loss" in line and "lr" in line and "samples" in line for line in bar), output
    assert "40/40" in output
