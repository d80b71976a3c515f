"""The papers' numbers as data: every number of docs/papers.md §3 is an entry, with its fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.report.reference import (
    REFERENCE_DIR,
    ReferenceError,
    load_reference,
    load_references,
    second_references,
)
from tests.report.published_lm import PUBLISHED_LM
from tests.report.published_nmt import PUBLISHED_NMT

# (paper, task, optimizer, metric, statistic, value, ±), copied from docs/papers.md §3 (the blog's
# fractions × 100: the suite logs accuracy in percent). The language-modelling and translation
# rows live beside this file (published_lm.py, published_nmt.py).
PAPERS_SECTION_3 = [
    ("radam", "cifar10_resnet20", "sgd", "test/acc", "best_epoch", 91.51, None),
    ("radam", "cifar10_resnet20", "adamw_radam_paper", "test/acc", "best_epoch", 90.54, None),
    ("radam", "cifar10_resnet20", "adamw_radam_paper", "test/acc", "best_epoch", 91.29, None),
    ("radam", "cifar10_resnet20", "radam", "test/acc", "best_epoch", 91.38, None),
    ("radam", "cifar10_resnet20", "adamw_radam_paper", "test/acc", "best_epoch", 90.13, None),
    ("radam", "cifar10_resnet20", "radam", "test/acc", "best_epoch", 91.06, None),
    ("radam", "imagenet_resnet18", "sgd", "test/acc", "best_epoch", 69.86, None),
    ("radam", "imagenet_resnet18", "adamw_radam_paper", "test/acc", "best_epoch", 66.54, None),
    ("radam", "imagenet_resnet18", "radam", "test/acc", "best_epoch", 67.62, None),
    ("radam", "imagenet_resnet18", "sgd", "train/acc", "final", 69.57, None),
    ("radam", "imagenet_resnet18", "adamw_radam_paper", "train/acc", "final", 69.12, None),
    ("radam", "imagenet_resnet18", "radam", "train/acc", "final", 70.30, None),
    *[
        ("adabound", f"cifar10_{model}", optimizer, "test/acc", statistic, value, None)
        for model, rows in {
            "resnet34": {
                "sgd": (94.64, 92.64),
                "adagrad": (92.66, 92.66),
                "adam": (92.96, 92.27),
                "amsgrad": (93.27, 93.18),
                "adabound": (95.03, 94.86),
                "amsbound": (94.82, 94.82),
            },
            "densenet121": {
                "sgd": (94.32, 92.99),
                "adagrad": (92.11, 91.88),
                "adam": (93.36, 93.01),
                "amsgrad": (93.52, 93.35),
                "adabound": (94.89, 94.83),
                "amsbound": (95.24, 95.10),
            },
        }.items()  # fmt: skip
        for optimizer, pair in rows.items()
        for statistic, value in zip(("best_epoch", "final"), pair, strict=True)
    ],
    ("adam_decay_blog", "cifar10_lenet5", "adam", "test/acc", "final", 56.17, None),
    ("adam_decay_blog", "cifar10_lenet5", "adam", "test/acc", "final", 54.76, None),
    ("adam_decay_blog", "cifar10_lenet5", "adam", "test/acc", "final", 56.36, None),
    ("adam_decay_blog", "cifar10_lenet5", "adam", "test/acc", "final", 56.88, None),
    ("reruns", "cifar10_resnet110", "sgd", "test/acc", "best_epoch", 93.91, None),
    ("reruns", "cifar10_resnet110", "adam", "test/acc", "best_epoch", 91.41, None),
    ("reruns", "cifar10_resnet110", "radam", "test/acc", "best_epoch", 91.80, None),
    *[
        ("reruns", f"cifar10_{model}", optimizer, "test/acc", "best_epoch", value, None)
        for model, rows in {
            "resnet34": {"sgd": 94.64, "adam": 93.02, "radam": 94.33, "adabound": 94.85},
            "densenet121": {"sgd": 94.50, "adam": 93.35, "radam": 94.81, "adabound": 94.58},
        }.items()
        for optimizer, value in rows.items()
    ],
    *PUBLISHED_LM,
    *PUBLISHED_NMT,
]


@pytest.fixture(scope="module")
def references():
    return load_references()


def test_every_published_number_is_an_entry(references) -> None:
    available = [
        (reference.paper, e.task, e.optimizer, e.metric, e.statistic, e.value, e.pm)
        for name, reference in references.items()
        if name != "demo"  # the offline demo's rows: ours, with no published value
        for e in reference.entries
    ]
    for expected in PAPERS_SECTION_3:
        assert expected in available, expected
    assert len(available) == len(PAPERS_SECTION_3)


def test_entries_state_protocol_sweeps_and_tolerance(references) -> None:
    for reference in references.values():
        assert reference.citation
        for entry in reference.entries:
            assert entry.paper and entry.in_paper and entry.label
            assert entry.select_split in ("val", "test")
            assert entry.tolerance > 0
            assert all(s.startswith("configs/paper/") and s.endswith(".yaml") for s in entry.sweeps)
            assert entry.table in reference.tables


def test_row_meanings_that_differ_between_papers(references) -> None:
    radam = {e.id: e for e in references["radam"].entries}
    adabound = {e.id: e for e in references["adabound"].entries}
    # The RAdam paper's Adam is the repository's decoupled-decay AdamW; AdaBound's is torch's.
    assert radam["cifar10.adam"].optimizer == "adamw_radam_paper"
    assert adabound["resnet34.adam.best"].optimizer == "adam"
    assert adabound["resnet34.adam.best"].overrides == {"optimizer.betas": "[0.99,0.999]"}
    assert adabound["densenet121.adam.best"].overrides == {}
    assert radam["cifar10.adam_warmup"].overrides == {"schedule/warmup": "linear"}
    assert "schedule.warmup.steps" in radam["cifar10.adam_warmup"].select_over


def test_claims_and_second_references_name_entries(references) -> None:
    for reference in references.values():
        ids = {e.id for e in reference.entries}
        assert reference.claims
        for claim in reference.claims:
            assert {claim.better, claim.worse} <= ids
    seconds = second_references(list(references.values()))
    assert [e.value for e in seconds["adabound:resnet34.sgdm.best"]] == [94.64]
    assert [e.value for e in seconds["radam_lm:lm1b.radam"]] == [36.20]


def test_a_malformed_entry_is_refused_with_its_name(tmp_path: Path) -> None:
    text = (REFERENCE_DIR / "adam_decay_blog.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("    statistic: final\n", "    statistic: median\n", 1))
    with pytest.raises(ReferenceError, match="statistic"):
        load_reference(broken)
    missing = tmp_path / "missing.yaml"
    missing.write_text(
        text.replace("    label: Adam lr 1e-3 + ReduceLROnPlateau(patience 5)\n", "", 1)
    )
    with pytest.raises(ReferenceError, match=r"lr1e-3\.plateau: missing label"):
        load_reference(missing)
