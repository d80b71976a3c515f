"""The GPU check (experiments/bench/gpu_check): its CPU mode end to end, so the check cannot rot
without a GPU, and the packing claims that hold on the CPU.

The CPU mode runs the same steps as the CUDA record at tiny sizes (``--cpu``, also where a GPU
exists), as a real subprocess of its entry point (``python -m scripts.gpu_check``) writing into a
temporary folder; the test reads the files it wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import optimizers
from experiments.bench.gpu_check.correctness import compiled_step_equals_eager
from experiments.bench.gpu_check.packing import (
    elementwise_step_matches,
    members,
    packed_matches_separate,
    sgd,
)
from experiments.bench.gpu_check.plan import Clock, Sizes
from experiments.bench.gpu_check.record import Section, kept_items
from experiments.bench.gpu_check.subprocess_checks import two_ranks_like_one
from tests.experiments.cli import REPO_ROOT, train_env

SECTION_FILES = (
    "1-correctness.json",
    "2-optimizer-step.json",
    "3-throughput.json",
    "4-packing.json",
    "5-defaults.json",
)


def gpu_check(out: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "scripts.gpu_check", "--cpu", "--out", str(out)]
    # A budget far beyond the tiny mode's ≈ 1 minute: a loaded machine must not skip items.
    command += ["--budget-s", "1200", *extra]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=train_env(), capture_output=True, text=True, timeout=1200
    )


def items(section: dict) -> dict[str, dict]:
    return {item["name"]: item for item in section["items"]}


def find(section: dict, prefix: str) -> dict:
    (item,) = [item for name, item in items(section).items() if name.startswith(prefix)]
    return item


@pytest.fixture(scope="module")
def cpu_record(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gpu-check")
    done = gpu_check(out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no CUDA: the same steps at tiny sizes on the CPU" in done.stdout
    (record_path,) = out.glob("gpu-*-cpu-tiny.json")
    return out, json.loads(record_path.read_text())


def test_cpu_mode_writes_every_section_and_the_record(cpu_record) -> None:
    out, record = cpu_record
    for name in SECTION_FILES:
        section = json.loads((out / name).read_text())
        assert section["complete"] and section["mode"] == "cpu-tiny", name
    assert record["mode"] == "cpu-tiny"
    assert list(record["sections"]) == [
        "correctness", "optimizer_step", "throughput", "packing", "defaults"
    ]  # fmt: skip
    assert record["machine"]["torch"] == torch.__version__
    statuses = [item["status"] for s in record["sections"].values() for item in s["items"]]
    assert "error" not in statuses and "fail" not in statuses
    whys = [item["why"] or "" for s in record["sections"].values() for item in s["items"]]
    assert not [why for why in whys if why.startswith("out of time")]
    summary = next(out.glob("gpu-*-cpu-tiny.md")).read_text()
    assert "no GPU figures" in summary and "## packing" in summary


def test_cpu_mode_runs_the_checks_and_says_what_is_cuda_only(cpu_record) -> None:
    _, record = cpu_record
    correctness = record["sections"]["correctness"]
    for prefix in (
        "cifar10 device pipeline: the CPU",
        "cifar10 device pipeline: augmentation",
        "cifar10 device pipeline: exact",
        "optimizer state_dict moved",
        "optimizers against float64",
        "training loop: bf16",
    ):
        assert find(correctness, prefix)["status"] == "pass", prefix
    sync = find(correctness, "training loop: no synchronisation")
    assert sync["status"] == "skipped" and "CUDA-only" in sync["why"]
    assert sync["details"]["updates"] == record["sizes"]["loop_steps"]
    tests = find(correctness, "pytest: CUDA variants of the optimizer tests")
    assert tests["status"] == "skipped" and tests["details"]["skip_reasons"] == {
        "needs CUDA": tests["details"]["skipped"]
    }
    assert tests["details"]["skipped"] > 0
    assert find(correctness, "DDP: 2 ranks with NCCL")["status"] == "blocked"
    bf16 = find(correctness, "training loop: bf16")["details"]["runs"]
    assert set(bf16) == {"bf16", "bf16 + channels_last"}


def test_cpu_mode_measures_every_figure(cpu_record) -> None:
    _, record = cpu_record
    step = find(record["sections"]["optimizer_step"], "optimizer step on resnet20")["details"]
    presets = {p.stem for p in (REPO_ROOT / "configs" / "optimizer").glob("*.yaml")} - {"custom"}
    timed = {name.split("(")[0] for name in step["implementations"]}
    assert presets <= timed  # every preset, on its foreach path or as it is
    assert "adam(foreach)" in step["implementations"]
    assert all(r["median_ms"] > 0 for r in step["implementations"].values() if "median_ms" in r)
    throughput = record["sections"]["throughput"]
    grid = find(throughput, "resnet20: pipelines")["details"]
    assert len(grid["variants"]) == 8 and grid["fastest"] in grid["variants"]
    assert all(v["samples_per_s"] > 0 for v in grid["variants"].values())
    overhead = find(throughput, "resnet20: the loop against a bare loop")["details"]
    assert overhead["loop_s_per_update"] > 0 and overhead["bare_s_per_update"] > 0
    packing = record["sections"]["packing"]
    assert find(packing, "packed members equal")["status"] == "pass"
    assert find(packing, "element-wise optimizer steps")["status"] == "pass"
    assert find(packing, "2 separate processes")["details"]["samples_per_s"] > 0
    ratios = find(packing, "packing: ratios")["details"]["ratios"]
    assert ratios["2"]["packed_vs_processes"] > 0
    defaults = record["sections"]["defaults"]["items"][0]["details"]
    assert {"bf16", "channels_last", "compile", "fused_optimizer"} <= set(defaults)


def test_a_bad_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = gpu_check(tmp_path, "--include", "compile,warp")
    assert done.returncode == 2
    assert done.stderr == "error: --include warp: choose from compile, ddp, fused\n"
    assert not list(tmp_path.iterdir())


def test_packed_members_equal_separate_runs() -> None:
    """3 members trained packed and trained apart: equal to float64 rounding tensor by tensor
    after 2 steps, and to float32 rounding (whole model, loss) after one step."""
    float64 = packed_matches_separate(3, 2, 4, sgd, torch.float64)
    assert float64["worst_rel_tensor"] < 1e-10 and float64["worst_rel_loss"] < 1e-12
    float32 = packed_matches_separate(3, 1, 4, sgd, torch.float32)
    assert float32["worst_rel_model"] < 1e-4 and float32["worst_rel_loss"] < 1e-5
    first, second = members(2, seed=10)
    assert not torch.equal(first.conv1.weight, second.conv1.weight)  # distinct members


def clipped_sgd(params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """SGD that clips the global gradient norm first: not element-wise."""
    optimizer = torch.optim.SGD(params, lr=0.1)

    def clip(*_: object) -> None:
        torch.nn.utils.clip_grad_norm_(params, 1.0)

    optimizer.register_step_pre_hook(clip)
    return optimizer


@pytest.mark.parametrize(
    "factory",
    [
        sgd,
        lambda p: optimizers.Adam(p, lr=1e-2, weight_decay=0.1),
        lambda p: optimizers.AdamW(p, lr=1e-2),
        lambda p: optimizers.AMSGrad(p, lr=1e-2),
        lambda p: optimizers.RAdam(p, lr=1e-2, weight_decay=0.1),
        lambda p: optimizers.RAdam(p, lr=1e-2, foreach=False),
        lambda p: optimizers.AdaBound(p, lr=1e-2),
        lambda p: optimizers.AMSBound(p, lr=1e-2),
        lambda p: optimizers.Adam2k(p, lr=1e-2, freeze_steps=3),
    ],
    ids=["SGD", "Adam", "AdamW", "AMSGrad", "RAdam", "RAdam-per-tensor", "AdaBound",
         "AMSBound", "Adam2k"],
)  # fmt: skip
def test_elementwise_step_on_stacked_members_is_bit_identical(factory) -> None:
    assert elementwise_step_matches(factory, 3, 8, torch.device("cpu"))


def test_a_step_with_a_global_norm_is_not_elementwise() -> None:
    """The bit-identity check can fail: clipping by the norm of all members at once differs."""
    assert not elementwise_step_matches(clipped_sgd, 3, 4, torch.device("cpu"))


def test_a_second_attempt_runs_only_what_the_first_left_unfinished(tmp_path: Path) -> None:
    """``--complete``: finished items of the earlier record are copied, not run; items that ran
    out of time or broke run again."""
    first = {"command": "python -m scripts.gpu_check", "mode": "cuda", "sections": {"packing": {
        "items": [
            {"name": "done", "status": "measured", "why": None, "details": {"samples_per_s": 5.0}},
            {"name": "late", "status": "skipped", "why": "out of time (3 s left)", "details": {}},
            {"name": "broke", "status": "error", "why": "RuntimeError: x", "details": {}},
        ]}}}  # fmt: skip
    kept = kept_items(first, "cuda")
    assert list(kept["packing"]) == ["done"] and kept_items(first, "cpu-tiny") == {}
    sizes = Sizes.for_mode(cuda=True)
    section = Section(tmp_path, 4, "packing", sizes, Clock(sizes.budget_s), kept["packing"])
    ran = []

    def item(name: str):
        return lambda: ran.append(name) or {"status": "measured", "samples_per_s": 1.0}

    for name in ("done", "late", "broke"):
        section.run(name, item(name))
    assert ran == ["late", "broke"]
    written = json.loads((tmp_path / "4-packing.json").read_text())["items"]
    assert [i["details"]["samples_per_s"] for i in written] == [5.0, 1.0, 1.0]
    assert written[0]["from_earlier_run"] == first["command"]


@pytest.mark.slow
def test_the_compiled_step_equals_the_eager_step_on_the_cpu() -> None:
    """The tiny mode leaves it out (inductor compiles for minutes on two cores)."""
    result = compiled_step_equals_eager(torch.device("cpu"), 8)
    assert "status" not in result, result.get("why")
    assert max(result["fp32_compiled_vs_eager"].values()) < 1e-3


@pytest.mark.slow
def test_two_gloo_ranks_train_like_one_process_on_the_cpu() -> None:
    """The DDP check's own launch (two ranks started by hand, LOCAL_RANK=0 for both)."""
    result = two_ranks_like_one(torch.device("cpu"), "gloo", 600)
    assert "status" not in result, result.get("why")
    assert result["events"] > 0 and result["worst_rel_difference"] <= 1e-4
