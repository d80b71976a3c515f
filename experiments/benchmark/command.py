"""What ``python -m scripts.benchmark`` (``make benchmark``) does with its arguments.

Arguments are Hydra-style ``key=value``: ``benchmark=<name>`` (default ``offline``; a
``configs/benchmark/`` file or a YAML path), ``benchmark.budget=smoke|default|<trials>``,
``search=<family>`` (the candidate's ``configs/search/`` space; default its preset's own, else
``custom``: lr only), ``runs_dir=`` (default ``runs``), ``out=`` (default ``results/benchmark``),
``launcher=…``/``device=…`` (given to every run); every other override describes the candidate
(``optimizer=custom optimizer._target_=my_pkg.MyOpt``, or a preset). No candidate: the
baselines alone. The report goes to ``<out>/<name>/`` at the default budget and
``<out>/<name>_<budget>/`` at another.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.benchmark.definition import load_benchmark, split_arguments
from experiments.benchmark.runner import run_benchmark
from experiments.config_checks import ConfigError


def main(arguments: Sequence[str]) -> int:
    """The command's exit code: 0 done, 2 bad input (one line on stderr), 1 a run failed."""
    try:
        runner, runs, candidate = split_arguments(arguments)
        bench = load_benchmark(
            runner.get("benchmark", "offline"),
            runner.get("benchmark.budget", "default"),
            candidate,
            runner.get("search"),
            runs,
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    command = "python -m scripts.benchmark " + " ".join(arguments)
    code, manifest = run_benchmark(bench, Path(runner.get("runs_dir", "runs")), command.strip())
    if manifest is None:
        return code
    from experiments.report.benchmark_report import report_folder, write_report

    out = Path(runner.get("out", "results/benchmark")) / report_folder(bench.name, bench.budget)
    written = write_report(manifest, out)
    print(f"report: {out / 'benchmark.md'} ({len(written)} files)")
    return code
