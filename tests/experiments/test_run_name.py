"""The run name ``<sweep>/<task>/<optimizer>/<overrides>/seed=<s>``: written for a run directory
and read back (the tables read it from a run directory without ``summary.json`` or a W&B run)."""

from __future__ import annotations

from experiments.runs.run_name import (
    MAX_COMPONENT,
    overrides_component,
    parse_overrides_component,
    parse_run_name,
    run_name_parts,
)


def test_override_components_read_back() -> None:
    assert parse_overrides_component("default") == {}
    component = "optimizer.betas=[0.99,0.999],optimizer.lr=0.001,schedule_warmup=linear"
    assert parse_overrides_component(component, ["schedule", "schedule/warmup"]) == {
        "optimizer.betas": "[0.99,0.999]",
        "optimizer.lr": "0.001",
        "schedule/warmup": "linear",
    }
    hashed = "a=" + "x" * 165 + "-0123456789ab"
    assert len(hashed) == 180 and parse_overrides_component(hashed) == {"<hashed>": hashed}


def test_identity_from_a_run_directory_name() -> None:
    identity = parse_run_name("radam/cifar10/cifar10_resnet20/radam/optimizer.lr=0.003/seed=4")
    assert identity == {
        "sweep": "radam/cifar10", "task": "cifar10_resnet20", "optimizer": "radam",
        "overrides": {"optimizer.lr": "0.003"}, "seed": 4,
    }  # fmt: skip


def test_a_written_name_reads_back() -> None:
    overrides = {
        "optimizer.betas": "[0.9,0.99]",
        "optimizer.lr": "0.003",
        "schedule/warmup": "linear",
    }
    parts = run_name_parts("radam/cifar10", "cifar10_resnet20", "radam", overrides, 4)
    assert parts == (
        "radam_cifar10", "cifar10_resnet20", "radam",
        "optimizer.betas=[0.9,0.99],optimizer.lr=0.003,schedule_warmup=linear", "seed=4",
    )  # fmt: skip
    assert parse_run_name("/".join(parts), ["schedule", "schedule/warmup"]) == {
        "sweep": "radam_cifar10", "task": "cifar10_resnet20", "optimizer": "radam",
        "overrides": overrides, "seed": 4,
    }  # fmt: skip


def test_a_long_component_is_cut_with_a_hash_and_kept_whole_on_reading() -> None:
    long = {f"optimizer.key{i}": "x" * 20 for i in range(10)}
    component = overrides_component(long)
    assert len(component) == MAX_COMPONENT
    assert overrides_component(long) == component  # the same overrides, the same name
    assert parse_overrides_component(component) == {"<hashed>": component}
    assert parse_run_name(f"single/digits/sgd/{component}/seed=1")["overrides"] == {
        "<hashed>": component
    }


def test_a_path_that_is_not_a_run_name_has_empty_parts() -> None:
    empty = {"sweep": "", "task": "", "optimizer": "", "overrides": {}, "seed": None}
    assert parse_run_name("digits/sgd/default") == empty
    assert parse_run_name("a/b/c/d/not-a-seed") == empty
