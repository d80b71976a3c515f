"""``python -m scripts.gpu_check`` (docs/gpu_check.md): the sections, then the record; exit 1
on a failed or broken item, 2 on bad arguments. Without Hydra, PyYAML or pytest it installs
``.gpu-wheels/`` into a scratch folder and starts again with it on ``PYTHONPATH``."""

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPTIONAL = ("compile", "ddp", "fused")
PROJECT = Path(__file__).resolve().parents[3]
WHEELS = Path(os.environ.get("OPTREPRO_GPU_WHEELS", PROJECT / ".gpu-wheels"))
NEEDED = ("hydra", "omegaconf", "antlr4", "yaml", "pytest", "tqdm")
MARK = "OPTREPRO_GPU_CHECK_BOOTSTRAPPED"


def ensure_dependencies(argv: list[str]) -> None:
    absent = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if not absent:
        return
    if os.environ.get(MARK):
        sys.exit(f"error: still missing {', '.join(absent)} after installing {WHEELS}")
    wheels = sorted(WHEELS.glob("*.whl"))
    target = Path(tempfile.gettempdir()) / "optrepro-gpu-check-site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
               "--no-compile", "--upgrade", "--target", str(target), *map(str, wheels)]  # fmt: skip
    if subprocess.run(command).returncode != 0:
        build = "python -m scripts.gpu_check.wheels builds them where there is a package index"
        sys.exit(f"error: no wheels for {', '.join(absent)} installed from {WHEELS}: {build}")
    paths = [str(target), str(PROJECT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, MARK: "1", "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    print(f"installed {len(wheels)} wheels into {target}; starting again", flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "scripts.gpu_check", *argv], env)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.gpu_check")
    parser.add_argument("--out", type=Path, help="section files (default: a temporary folder)")
    parser.add_argument("--record-dir", type=Path, help="gpu-<date>.json/.md (default: "
                        "results/bench on CUDA, --out without)")  # fmt: skip
    parser.add_argument("--budget-s", type=float, help="seconds for all sections")
    parser.add_argument("--complete", action="store_true", help="run only what the same day's "
                        "record in --record-dir lacks, broke or ran out of time for")  # fmt: skip
    parser.add_argument("--include", default="", help=f"tiny mode: also {', '.join(OPTIONAL)}")
    parser.add_argument("--cpu", action="store_true", help="the tiny CPU mode even with CUDA")
    args = parser.parse_args(argv)
    if unknown := sorted(set(filter(None, args.include.split(","))) - set(OPTIONAL)):
        choose = f"choose from {', '.join(OPTIONAL)}"
        print(f"error: --include {','.join(unknown)}: {choose}", file=sys.stderr)
        sys.exit(2)
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    ensure_dependencies(argv)
    import torch  # after the dependencies are in place: the rest imports Hydra

    from experiments.bench.gpu_check import record
    from experiments.bench.gpu_check.plan import Clock, Sizes

    cuda = torch.cuda.is_available() and not args.cpu
    sizes = Sizes.for_mode(cuda, args.budget_s, frozenset(filter(None, args.include.split(","))))
    device = torch.device("cuda" if cuda else "cpu")
    out = args.out or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    record_dir = args.record_dir or (Path("results/bench") if cuda else out)
    for folder in (out, record_dir):
        folder.mkdir(parents=True, exist_ok=True)
    clock, date, about = Clock(sizes.budget_s), time.strftime("%Y-%m-%d"), record.machine(cuda)
    stem = f"gpu-{date}" + ("" if cuda else "-cpu-tiny")
    earlier_path = record_dir / f"{stem}.json"
    complete = args.complete and earlier_path.exists()
    earlier = json.loads(earlier_path.read_text()) if complete else None
    kept = record.kept_items(earlier, sizes.mode)
    print(f"GPU check ({sizes.mode}, budget {sizes.budget_s:.0f} s) on {about['device']}: torch "
          f"{about['torch']}, CUDA {about['cuda']}; sections in {out}", flush=True)  # fmt: skip
    if not cuda:
        print("no CUDA: the same steps at tiny sizes on the CPU (no GPU figures)", flush=True)
    sections: dict[str, dict] = {}
    names = ("correctness", "optimizer_step", "throughput", "packing", "defaults")
    for index, name in enumerate(names, start=1):
        print(f"[{clock.elapsed():6.1f} s] {name}", flush=True)
        section = record.Section(out, index, name, sizes, clock, kept.get(name))
        step = importlib.import_module(f"experiments.bench.gpu_check.{name}").run
        step(section, sizes, sections if name == "defaults" else device)
        sections[name] = section.finish()
    command = " ".join(["python", "-m", "scripts.gpu_check", *argv])
    results = {
        "command": command, "date": date, "mode": sizes.mode, "machine": about,
        "budget_s": sizes.budget_s, "wall_s": clock.elapsed(),
        "sizes": {key: sorted(value) if isinstance(value, frozenset) else value
                  for key, value in vars(sizes).items()},
        "sections": sections,
        "earlier_runs": [*earlier.get("earlier_runs", []), earlier["command"]] if kept else [],
    }  # fmt: skip
    for folder in {record_dir.resolve(), out.resolve()}:
        record.write_json(folder / f"{stem}.json", results)
        (folder / f"{stem}.md").write_text(record.markdown(results))
    print(f"[{clock.elapsed():6.1f} s] wrote {record_dir / stem}.json and .md", flush=True)
    statuses = {item["status"] for s in sections.values() for item in s["items"]}
    return 1 if {"fail", "error"} & statuses else 0
