"""One of K separate ResNet-20 training processes sharing a device (``packing.processes_rate``):
``python -m experiments.bench.gpu_check.packing_worker --rank R --world K --barrier DIR ...``.
After its warm-up it writes ``DIR/ready-R`` and waits for all K, so the timed steps of every
process overlap, then writes ``DIR/result-R.json``: the wall-clock span of its timed steps."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from experiments.bench.gpu_check.packed_members import members, separate_step, sgd, sources

BARRIER_TIMEOUT_S = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("rank", "world", "images", "batch", "warmup", "steps"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--barrier", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    model = members(1, seed=args.rank)[0].to(device)
    optimizer = sgd(list(model.parameters()))
    (stream,) = sources(1, args.images, args.batch, seed=args.rank, device=device)
    for _ in range(args.warmup):
        separate_step(model, optimizer, *next(stream))
    if device.type == "cuda":
        torch.cuda.synchronize()
    (args.barrier / f"ready-{args.rank}").touch()
    waited = time.monotonic()
    while len(list(args.barrier.glob("ready-*"))) < args.world:
        if time.monotonic() - waited > BARRIER_TIMEOUT_S:
            raise SystemExit("error: the other workers never became ready")
        time.sleep(0.005)
    start = time.time()
    for _ in range(args.steps):
        separate_step(model, optimizer, *next(stream))
    if device.type == "cuda":
        torch.cuda.synchronize()
    result = {"start": start, "end": time.time(), "samples": args.steps * args.batch}
    (args.barrier / f"result-{args.rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
