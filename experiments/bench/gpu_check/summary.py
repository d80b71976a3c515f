"""The short Markdown summary of a GPU-check record (``gpu-<date>.md`` beside its JSON)."""

from __future__ import annotations

from typing import Any


def _number(value: float | None, form: str = ",.0f") -> str:
    return "—" if value is None else format(value, form)


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def markdown(record: dict[str, Any]) -> str:
    machine = record["machine"]
    lines = [
        f"# GPU check, {record['date']} ({record['mode']})",
        "",
        f"- command: `{record['command']}`",
        f"- device: {machine['device']}; torch {machine['torch']}, CUDA {machine['cuda']}, "
        f"cuDNN {machine['cudnn']}, Triton {machine['triton']}, Python {machine['python']}",
        f"- wall time: {record['wall_s']:.0f} s of a {record['budget_s']:.0f} s budget",
    ]
    if record.get("earlier_runs"):
        lines.append(f"- completes the record of: `{'`, `'.join(record['earlier_runs'])}`")
    if record["mode"] != "cuda":
        lines.append(
            "- **no CUDA here: the same steps at tiny sizes on the CPU; the figures below are "
            "no GPU figures**"
        )
    for name, section in record["sections"].items():
        lines += ["", f"## {name}" + ("" if section.get("complete") else " (cut off)"), ""]
        for item in section.get("items", []):
            why = f" — {item['why']}" if item.get("why") else ""
            lines.append(f"- **{item['status']}** {item['name']}{why}")
    return "\n".join([*lines, "", *figures(record["sections"])]) + "\n"


def _details(section: dict[str, Any] | None, prefix: str) -> dict[str, Any]:
    for item in (section or {}).get("items", []):
        if item["name"].startswith(prefix):
            return item["details"]
    return {}


def figures(sections: dict[str, Any]) -> list[str]:
    """The figures the issue asks for, one table or line each where they were measured."""
    out: list[str] = []
    for item in sections.get("optimizer_step", {}).get("items", []):
        implementations = item["details"].get("implementations")
        if not implementations:
            continue
        out += [
            f"### {item['name']}",
            "",
            "| implementation | ms | vs torch fused Adam | of 4.8 TB/s | of copy | syncs/step |",
            "|---|---|---|---|---|---|",
        ]
        for name, f in implementations.items():
            if "median_ms" in f:
                copy = f.get("fraction_of_copy_bandwidth")
                out.append(
                    f"| {name} | {f['median_ms']:.3f} | {_ratio(f['vs_torch_fused_adam'])} | "
                    f"{100 * f['fraction_of_h200']:.1f}% | "
                    f"{'—' if copy is None else f'{100 * copy:.0f}%'} | "
                    f"{_number(f.get('syncs_per_step'), 'd')} |"
                )
        out.append("")
    throughput = sections.get("throughput")
    grid = _details(throughput, "resnet20: pipelines")
    if grid.get("variants"):
        out += ["### ResNet-20 training, samples/s through the loop", ""]
        out += ["| variant | samples/s |", "|---|---|"]
        out += [f"| {n} | {_number(v['samples_per_s'])} |" for n, v in grid["variants"].items()]
        extras = (("+ torch.compile", "resnet20: torch.compile"),
                  ("deterministic=false", "resnet20: deterministic=false"))  # fmt: skip
        for label, prefix in extras:
            found = _details(throughput, prefix)
            if "samples_per_s" in found:
                out.append(f"| {grid['fastest']} {label} | {_number(found['samples_per_s'])} |")
        out.append("")
        overhead = _details(throughput, "resnet20: the loop against")
        if "loop_overhead" in overhead:
            out.append(
                f"Loop overhead against a bare loop: {100 * overhead['loop_overhead']:+.1f}%."
            )
        implied = _details(throughput, "resnet20: implied")
        if "minutes" in implied:
            out.append(
                f"Implied 164-epoch run ({implied['setting']}): {implied['minutes']:.1f} min "
                "(goal: under 5)."
            )
        out.append("")
    for item in (throughput or {}).get("items", []):
        if "units_per_update" in item["details"]:
            d = item["details"]
            out.append(f"- {item['name']}: {_number(d[d['unit'] + '_per_s'])} {d['unit']}/s")
    decision = _details(sections.get("packing"), "packing: ratios")
    if decision.get("ratios"):
        out += ["", "### Packing", "", "| K | packed / K processes | packed / one run | "
                "packed / CUDA-graph run |", "|---|---|---|---|"]  # fmt: skip
        for count, r in decision["ratios"].items():
            out.append(
                f"| {count} | {_ratio(r['packed_vs_processes'])} | "
                f"{_ratio(r['packed_vs_one_run'])} | {_ratio(r['packed_vs_cuda_graph_run'])} |"
            )
        out += ["", f"Decision ({decision['rule']}): {decision['decision']}.", ""]
    defaults = _details(sections.get("defaults"), "CUDA defaults")
    if "papers_fp32_override" in defaults:
        out += ["### CUDA defaults", ""]
        for switch in ("bf16", "channels_last", "compile", "fused_optimizer"):
            if switch in defaults:
                d = defaults[switch]
                gain = f" (speed-up {_ratio(d['speedup'])})" if "speedup" in d else ""
                out.append(f"- {switch}: on by default on CUDA: {d['default_on_cuda']}{gain}")
        if "deterministic" in defaults:
            d = defaults["deterministic"]
            cost = d.get("cost")
            shown = "" if cost is None else f" (deterministic=true costs {100 * cost:+.1f}%)"
            out.append(f"- deterministic: {d['default']}{shown}")
        out.append(f"- the papers' fp32 numbers: `{defaults['papers_fp32_override']}`")
    return out
