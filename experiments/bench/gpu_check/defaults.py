"""Section 5: the CUDA defaults the figures support (issue 15, point 6).

Each speed switch is judged on ResNet-20 (the recipe the figures time) by a fixed rule, written
here so the decision can be re-read against the numbers:

- ``bf16`` (``task.precision``) and ``channels_last``: on by default on CUDA when the best
  variant with the switch is ≥ 1.10× the same variant without it, and the bf16 runs finished
  (correctness section).
- ``compile`` (``task.compile``): on when the compiled step is ≥ 1.10× the fastest eager
  variant, the compiled step equals the eager one (correctness section), and the time saved over
  one 164-epoch run exceeds the compilation time.
- fused optimizer steps (``optimizer.fused``): on when the fused step of the recipes' presets is
  faster than their foreach step on the measured parameter sets, the fused-path tests passed on
  CUDA, and the step takes no host synchronisation (one would make every update wait, against
  the loop's design).
- ``deterministic``: stays the CUDA default when disabling it (cuDNN autotuning) gains < 5 %;
  otherwise it becomes a CPU-only default and CUDA runs autotune, with ``deterministic=true``
  as the documented override.

The papers' fp32 numbers stay reproducible with one override whatever is decided:
``task.precision=fp32 task.channels_last=false task.compile=false`` (and ``optimizer.fused=null``
for the presets that have the flag).
"""

from __future__ import annotations

from typing import Any

from experiments.bench.gpu_check.plan import Sizes

GAIN = 1.10
DETERMINISM_COST = 0.05
PAPERS_OVERRIDE = "task.precision=fp32 task.channels_last=false task.compile=false"
"""Plus ``optimizer.fused=null`` for the presets that have the flag."""
RECIPE_PRESETS = ("sgd", "radam", "adamw_radam_paper", "adam", "adabound", "amsbound")


def _item(section: dict | None, prefix: str) -> dict[str, Any] | None:
    for item in (section or {}).get("items", []):
        if item["name"].startswith(prefix):
            return item
    return None


def switch_gain(grid: dict, switch: str) -> float | None:
    """Best variant with ``switch`` over the same variant without it."""
    variants = grid["variants"]
    gains = []
    for name, figure in variants.items():
        parts = name.split("/")
        if switch == "bf16" and "bf16" in parts:
            other = "/".join("fp32" if part == "bf16" else part for part in parts)
        elif switch == "channels_last" and "channels_last" in parts:
            other = "/".join(part for part in parts if part != "channels_last")
        else:
            continue
        gains.append(
            (figure["samples_per_s"], figure["samples_per_s"] / variants[other]["samples_per_s"])
        )
    return max(gains)[1] if gains else None


def fused_gain(optimizer_section: dict | None) -> dict[str, Any]:
    """foreach ms / fused ms per preset of the recipes, and the fused paths' syncs per step."""
    found: dict[str, Any] = {}
    for item in (optimizer_section or {}).get("items", []):
        implementations = item["details"].get("implementations")
        if not implementations:
            continue
        for preset in RECIPE_PRESETS:
            foreach = implementations.get(f"{preset}(foreach)", {})
            fused = implementations.get(f"{preset}(fused)", {})
            if "median_ms" in foreach and "median_ms" in fused:
                found[f"{item['name']}: {preset}"] = {
                    "speedup": foreach["median_ms"] / fused["median_ms"],
                    "syncs_per_step": fused.get("syncs_per_step"),
                }
    return found


def _measured(section: dict | None, prefix: str) -> dict[str, Any] | None:
    item = _item(section, prefix)
    return item["details"] if item and item["status"] == "measured" else None


def decide(sizes: Sizes, sections: dict[str, dict]) -> dict[str, Any]:
    """The recommendation for each switch with the figure behind it, from the sections'
    records (items kept from an earlier attempt included)."""
    correctness, throughput = sections.get("correctness"), sections.get("throughput")
    decisions: dict[str, Any] = {"rule_gain": GAIN, "papers_fp32_override": PAPERS_OVERRIDE}
    grid = _measured(throughput, "resnet20: pipelines")
    bf16_ok = (_item(correctness, "training loop: bf16") or {}).get("status") == "pass"
    compile_ok = (_item(correctness, "torch.compile") or {}).get("status") == "pass"
    if grid:
        for switch, correct in (("bf16", bf16_ok), ("channels_last", True)):
            gain = switch_gain(grid, switch)
            decisions[switch] = {
                "speedup": gain,
                "correct": correct,
                "default_on_cuda": bool(gain and gain >= GAIN and correct),
            }
        compiled = _measured(throughput, "resnet20: torch.compile")
        decisions["compile"] = compile_decision(grid, compiled, compile_ok)
        nondeterministic = _measured(throughput, "resnet20: deterministic=false")
        decisions["deterministic"] = determinism(grid, nondeterministic)
    fused = fused_gain(sections.get("optimizer_step"))
    synchronising = [key for key, value in fused.items() if value["syncs_per_step"]]
    fused_ok = (_item(correctness, "pytest: CUDA variants of the fused") or {}).get("status")
    decisions["fused_optimizer"] = {
        "per_preset": fused,
        "synchronising": synchronising,
        "correct": fused_ok == "pass",
        "default_on_cuda": bool(fused)
        and fused_ok == "pass"
        and not synchronising
        and min(value["speedup"] for value in fused.values()) > 1.0,
    }
    decisions["status"] = "measured"
    decisions["why"] = "CPU tiny figures: not a recommendation" if sizes.tiny else None
    return decisions


def compile_decision(grid: dict, compiled: dict | None, correct: bool) -> dict[str, Any]:
    if not compiled:
        return {
            "speedup": None,
            "correct": correct,
            "default_on_cuda": False,
            "why": "not measured",
        }
    eager = grid["variants"][grid["fastest"]]["s_per_update"]
    gain = eager / compiled["s_per_update"]
    saved = (eager - compiled["s_per_update"]) * 164 * 391
    return {
        "speedup": gain,
        "correct": correct,
        "compile_s": compiled["warmup_s"],
        "saved_per_164_epoch_run_s": saved,
        "default_on_cuda": gain >= GAIN and correct and saved > compiled["warmup_s"],
    }


def determinism(grid: dict, nondeterministic: dict | None) -> dict[str, Any]:
    if not nondeterministic:
        return {"cost": None, "default": "unchanged (not measured)"}
    deterministic = grid["variants"][grid["fastest"]]["s_per_update"]
    cost = deterministic / nondeterministic["s_per_update"] - 1
    keep = cost < DETERMINISM_COST
    return {
        "cost": cost,
        "keep_true_on_cuda": keep,
        "default": "true everywhere"
        if keep
        else "true on CPU only; CUDA autotunes (deterministic=true restores bit-stable runs)",
    }
