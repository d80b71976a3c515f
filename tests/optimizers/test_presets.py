"""Every configs/optimizer preset instantiates, steps, composes with train.yaml, and says what
it reproduces; the torch-semantics presets follow torch.optim step for step."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# custom.yaml is the bring-your-own-class template (``_target_: ???``), tested on its own.
PRESETS = sorted(p for p in (CONFIGS / "optimizer").glob("*.yaml") if p.stem != "custom")
EXPECTED = {
    "sgd", "adam", "adamw", "amsgrad", "adagrad", "rmsprop", "radam", "radam_paper_threshold",
    "radam_torch", "radam_skip", "adamw_radam_paper", "adabound", "amsbound", "adam_2k", "adam_eps",
}  # fmt: skip
# The switches that distinguish the presets (the README's table).
SWITCHES = {
    "radam": dict(threshold=5.0, strict_threshold=False, degenerated_to_sgd=True),
    "radam_paper_threshold": dict(threshold=4.0, strict_threshold=True, degenerated_to_sgd=True),
    "radam_torch": dict(threshold=5.0, strict_threshold=True, decoupled_weight_decay=False),
    "radam_skip": dict(threshold=5.0, strict_threshold=False, degenerated_to_sgd=False),
    "adamw_radam_paper": dict(decoupled_weight_decay=True, eps_mode="sqrt_v"),
    "adam": dict(decoupled_weight_decay=False, eps_mode="sqrt_v_hat", amsgrad=False),
    "adam_eps": dict(eps=1e-4, eps_mode="sqrt_v", decoupled_weight_decay=True),
    "adam_2k": dict(freeze_steps=2000, eps=1e-8),
    "sgd": dict(lr=0.1, momentum=0.9),
}


def test_every_preset_is_there() -> None:
    assert EXPECTED <= {path.stem for path in PRESETS}


def test_custom_template_takes_any_optimizer_class(compose: Callable[..., DictConfig]) -> None:
    overrides = ["optimizer=custom", "optimizer._target_=optimizers.RAdam", "+optimizer.lr=0.01"]
    cfg = compose(*overrides)
    optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.ones(2))])
    assert type(optimizer).__name__ == "RAdam" and optimizer.defaults["lr"] == 0.01


@pytest.mark.parametrize("path", PRESETS, ids=lambda path: path.stem)
def test_preset_instantiates_and_steps(path: Path) -> None:
    assert path.read_text().startswith("# "), "a header comment says what the preset reproduces"
    node = OmegaConf.load(path)
    assert node._partial_ is True and node._convert_ == "all"
    assert node._target_.startswith("optimizers.")
    param = torch.nn.Parameter(torch.ones(4))
    optimizer = instantiate(node)([param])
    keywords = inspect.signature(type(optimizer).__init__).parameters
    required = {"lr", "weight_decay"} | ({"betas", "eps"} & set(keywords))
    assert required <= set(node.keys())
    for key, value in SWITCHES.get(path.stem, {}).items():
        assert optimizer.defaults[key] == value, key
    param.grad = torch.full((4,), 0.5)
    optimizer.step()
    # v-only updates; the skipped RAdam step; ADOPT's and SOAP's set-up steps
    frozen_at_step_1 = {"adam_2k", "radam_skip", "adopt", "soap"}
    assert torch.equal(param, torch.ones(4)) == (path.stem in frozen_at_step_1)


@pytest.mark.parametrize("path", PRESETS, ids=lambda path: path.stem)
def test_preset_composes_with_the_root_config(
    path: Path, compose: Callable[..., DictConfig]
) -> None:
    cfg = compose(f"optimizer={path.stem}")
    optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.ones(2))])
    assert type(optimizer).__name__ == OmegaConf.load(path)._target_.split(".")[-1]


@pytest.mark.parametrize(
    "name, torch_factory",
    [
        ("adam", lambda params: torch.optim.Adam(params, weight_decay=0.1)),
        ("adamw", lambda params: torch.optim.AdamW(params)),
        ("amsgrad", lambda params: torch.optim.Adam(params, amsgrad=True, weight_decay=0.1)),
        ("radam_torch", lambda params: torch.optim.RAdam(params, weight_decay=0.1)),
    ],
)
def test_torch_semantics_presets_follow_torch(name: str, torch_factory) -> None:
    node = OmegaConf.load(CONFIGS / "optimizer" / f"{name}.yaml")
    if name != "adamw":
        node.weight_decay = 0.1
    ours = torch.nn.Parameter(torch.linspace(-1, 1, 6))
    theirs = torch.nn.Parameter(torch.linspace(-1, 1, 6))
    ours_opt, theirs_opt = instantiate(node)([ours]), torch_factory([theirs])
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        grad = torch.randn(6, generator=generator)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        ours_opt.step()
        theirs_opt.step()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
