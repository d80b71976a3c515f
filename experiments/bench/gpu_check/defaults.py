"""Section 5: the CUDA defaults the figures support, by the rules of docs/gpu_check.md."""

from typing import Any

from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Section
from experiments.bench.train_throughput import CIFAR_STEPS_PER_EPOCH as STEPS_PER_EPOCH

GAIN, EPOCHS = 1.10, 164
PAPERS_OVERRIDE = "task.precision=fp32 task.channels_last=false task.compile=false"
RECIPE_PRESETS = ("sgd", "radam", "adamw_radam_paper", "adam", "adabound", "amsbound")


def switch_gain(grid: dict, switch: str) -> float | None:
    variants, gains = grid["variants"], []
    for name, figure in variants.items():
        parts = name.split("/")
        if switch in parts:
            other = [{"bf16": "fp32"}.get(p, p) for p in parts] if switch == "bf16" else parts[:2]
            rate = figure["samples_per_s"]
            gains.append((rate, rate / variants["/".join(other)]["samples_per_s"]))
    return max(gains)[1] if gains else None


def decide(sizes: Sizes, sections: dict[str, dict]) -> dict[str, Any]:
    def item(section: str, prefix: str) -> dict:
        items = (sections.get(section) or {}).get("items", [])
        return next((i for i in items if i["name"].startswith(prefix)), {})

    def passed(prefix: str) -> bool:
        return item("correctness", prefix).get("status") == "pass"

    def measured(prefix: str) -> dict | None:
        found = item("throughput", prefix)
        return found["details"] if found.get("status") == "measured" else None

    decisions: dict[str, Any] = {"rule_gain": GAIN, "papers_fp32_override": PAPERS_OVERRIDE}
    if grid := measured("resnet20: pipelines"):
        for switch, correct in (("bf16", passed("training loop: bf16")), ("channels_last", True)):
            gain = switch_gain(grid, switch)
            on = bool(gain and gain >= GAIN and correct)
            decisions[switch] = {"speedup": gain, "correct": correct, "default_on_cuda": on}
        compiled, correct = measured("resnet20: torch.compile"), passed("torch.compile")
        decisions["compile"] = {"speedup": None, "correct": correct, "default_on_cuda": False,
                                "why": "not measured"}  # fmt: skip
        if compiled:
            eager = grid["variants"][grid["fastest"]]["s_per_update"]
            gain, cost = eager / compiled["s_per_update"], compiled["warmup_s"]
            saved = (eager - compiled["s_per_update"]) * EPOCHS * STEPS_PER_EPOCH
            on = gain >= GAIN and correct and saved > cost
            figures = {"speedup": gain, "compile_s": cost, "saved_per_164_epoch_run_s": saved}
            decisions["compile"] = {**figures, "correct": correct, "default_on_cuda": on}
    fused: dict[str, Any] = {}  # foreach ms / fused ms per preset, and the fused syncs per step
    for step_item in (sections.get("optimizer_step") or {}).get("items", []):
        timed = step_item["details"].get("implementations") or {}
        for preset in RECIPE_PRESETS:
            foreach, fast = timed.get(f"{preset}(foreach)", {}), timed.get(f"{preset}(fused)", {})
            if "median_ms" in foreach and "median_ms" in fast:
                fused[f"{step_item['name']}: {preset}"] = {
                    "speedup": foreach["median_ms"] / fast["median_ms"],
                    "syncs_per_step": fast.get("syncs_per_step")}  # fmt: skip
    fused_ok = passed("pytest: CUDA variants of the fused")
    synchronising = [key for key, value in fused.items() if value["syncs_per_step"]]
    faster = bool(fused) and min(value["speedup"] for value in fused.values()) > 1.0
    on = faster and fused_ok and not synchronising
    decisions["fused_optimizer"] = {"per_preset": fused, "synchronising": synchronising,
                                    "correct": fused_ok, "default_on_cuda": on}  # fmt: skip
    why = "CPU tiny figures: not a recommendation" if sizes.tiny else None
    return {**decisions, "status": "measured", "why": why}


def run(section: Section, sizes: Sizes, sections: dict[str, dict]) -> None:
    section.run("CUDA defaults from the figures", lambda: decide(sizes, sections))
