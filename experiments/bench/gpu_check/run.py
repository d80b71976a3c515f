"""``python -m scripts.gpu_check [--out DIR] [--record-dir DIR] [--budget-s S] [--complete]
[--include compile,ddp,fused] [--cpu]``: the sections in priority order, then the defaults and
the record. Exit code 0 when no item failed or broke, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

from experiments.bench.gpu_check.bootstrap import ensure_dependencies

OPTIONAL = ("compile", "ddp", "fused")


class OneLineErrors(argparse.ArgumentParser):
    """A bad argument is one line on stderr and exit code 2, as everywhere in the suite."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = OneLineErrors(
        prog="python -m scripts.gpu_check", description="The GPU record: CUDA checks and figures."
    )
    parser.add_argument("--out", type=Path, help="folder for the section files (default: a new "
                        "temporary folder)")  # fmt: skip
    parser.add_argument("--record-dir", type=Path, help="folder for gpu-<date>.json/.md "
                        "(default: results/bench on CUDA, --out without)")  # fmt: skip
    parser.add_argument("--budget-s", type=float, help="seconds for all sections (default: 330 "
                        "on CUDA, 600 for the tiny CPU run)")  # fmt: skip
    parser.add_argument("--complete", action="store_true", help="a second attempt: keep the "
                        "finished items of the same day's record in --record-dir and run only "
                        "those it lacks, that broke or that ran out of time")  # fmt: skip
    parser.add_argument(
        "--include", default="", help=f"tiny CPU mode: also run {', '.join(OPTIONAL)}"
    )
    parser.add_argument("--cpu", action="store_true", help="the tiny CPU mode even with CUDA")
    args = parser.parse_args(argv)
    unknown = sorted(set(filter(None, args.include.split(","))) - set(OPTIONAL))
    if unknown:
        parser.error(f"--include {','.join(unknown)}: choose from {', '.join(OPTIONAL)}")
    return args


def main(argv: list[str]) -> int:
    """Run the check (see the package docstring); returns the exit code."""
    args = parse(argv)
    ensure_dependencies(argv)
    import torch  # after the dependencies are in place: the rest imports Hydra

    from experiments.bench.gpu_check import (
        correctness,
        defaults,
        optimizer_step,
        packing,
        throughput,
    )
    from experiments.bench.gpu_check.plan import SECTIONS, Clock, Sizes
    from experiments.bench.gpu_check.record import (
        Section,
        command_line,
        kept_items,
        machine,
        write_json,
    )
    from experiments.bench.gpu_check.summary import markdown

    cuda = torch.cuda.is_available() and not args.cpu
    sizes = Sizes.for_mode(cuda, args.budget_s, frozenset(filter(None, args.include.split(","))))
    device = torch.device("cuda" if cuda else "cpu")
    out = args.out or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    record_dir = args.record_dir or (Path("results/bench") if cuda else out)
    for folder in (out, record_dir):
        folder.mkdir(parents=True, exist_ok=True)
    clock, date, about = Clock(sizes.budget_s), time.strftime("%Y-%m-%d"), machine(cuda)
    stem = f"gpu-{date}" + ("" if cuda else "-cpu-tiny")
    earlier = None
    if args.complete and (record_dir / f"{stem}.json").exists():
        earlier = json.loads((record_dir / f"{stem}.json").read_text())
    kept = kept_items(earlier, sizes.mode)
    print(f"GPU check ({sizes.mode}, budget {sizes.budget_s:.0f} s) on {about['device']}: torch "
          f"{about['torch']}, CUDA {about['cuda']}; sections in {out}", flush=True)  # fmt: skip
    if not cuda:
        print("no CUDA: the same steps at tiny sizes on the CPU (no GPU figures)", flush=True)
    if args.complete and not kept:
        print(
            f"--complete: no {sizes.mode} record {record_dir / stem}.json to complete", flush=True
        )
    steps = {"correctness": correctness.run, "optimizer_step": optimizer_step.run,
             "throughput": throughput.run, "packing": packing.run}  # fmt: skip
    sections: dict[str, dict] = {}
    for index, name in enumerate(SECTIONS, start=1):
        print(f"[{clock.elapsed():6.1f} s] {name}", flush=True)
        section = Section(out, index, name, sizes, clock, kept.get(name))
        steps[name](section, sizes, device)
        sections[name] = section.finish()
    section = Section(out, len(SECTIONS) + 1, "defaults", sizes, clock)
    section.run("CUDA defaults from the figures", lambda: defaults.decide(sizes, sections))
    sections["defaults"] = section.finish()
    record = {
        "command": command_line(), "date": date, "mode": sizes.mode, "machine": about,
        "budget_s": sizes.budget_s, "wall_s": clock.elapsed(),
        "sizes": {key: sorted(value) if isinstance(value, frozenset) else value
                  for key, value in vars(sizes).items()},
        "sections": sections,
        "earlier_runs": [*earlier.get("earlier_runs", []), earlier["command"]] if kept else [],
    }  # fmt: skip
    for folder in {record_dir.resolve(), out.resolve()}:
        write_json(folder / f"{stem}.json", record)
        (folder / f"{stem}.md").write_text(markdown(record))
    print(f"[{clock.elapsed():6.1f} s] wrote {record_dir / stem}.json and .md", flush=True)
    statuses = {item["status"] for s in sections.values() for item in s["items"]}
    return 1 if {"fail", "error"} & statuses else 0
