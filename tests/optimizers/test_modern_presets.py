"""The modern baselines (issue 23, point 5): Muon with AdamW splits every suite model as Muon's
authors do and round-trips its state; Schedule-Free AdamW evaluates at x and trains at y; each
new preset builds through ``build_optimizer`` and the schedule rule is enforced."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from omegaconf import DictConfig
from torch import nn

from experiments.assembly import build_optimizer
from experiments.config_checks import ConfigError
from experiments.models import cifar_resnet, densenet, imagenet_resnet, kuangliu_resnet, lenet5
from experiments.models.awd_lstm import AWDLSTM
from experiments.models.billion_word_lstm import BillionWordLSTM
from experiments.models.digits_cnn import DigitsCNN
from experiments.models.transformer import TransformerModel
from optimizers.muon_with_adamw import MuonWithAdamW
from optimizers.schedule_free import AdamWScheduleFree

NEW_PRESETS = (
    "torch_adamw", "nadam", "adafactor", "muon", "lion", "soap", "adopt", "schedulefree_adamw",
)  # fmt: skip


def tiny_transformer() -> TransformerModel:
    return TransformerModel(
        20, 30, embed_dim=8, ffn_dim=16, heads=2, encoder_layers=1, decoder_layers=1
    )


SUITE_MODELS: dict[str, Callable[[], nn.Module]] = {
    "digits_cnn": DigitsCNN,
    "lenet5": lenet5.lenet5,
    "cifar_resnet20": cifar_resnet.resnet20,
    "kuangliu_resnet18": kuangliu_resnet.resnet18,
    "densenet121": densenet.densenet121,
    "imagenet_resnet18": imagenet_resnet.resnet18,
    "awd_lstm": lambda: AWDLSTM(50, layers=2, embed_dim=8, hidden_size=12),
    "billion_word_lstm": lambda: BillionWordLSTM(100, embed_dim=8, hidden_size=16, cutoffs=(10,)),
    "transformer": tiny_transformer,
}


def muon_names(model: nn.Module) -> set[str]:
    return set(MuonWithAdamW(model.named_modules()).muon_names)


def test_the_split_on_the_digits_cnn() -> None:
    """The hidden linear layer is Muon's; conv filters, biases and the output layer AdamW's."""
    model = DigitsCNN()
    optimizer = MuonWithAdamW(model.named_modules())
    assert optimizer.muon_names == ["classifier.1.weight"]
    assert "classifier.3.weight" in optimizer.adamw_names  # the output layer
    assert "features.0.weight" in optimizer.adamw_names  # a 4-D conv filter
    assert len(optimizer.muon_names) + len(optimizer.adamw_names) == len(list(model.parameters()))


@pytest.mark.parametrize("tie_weights", [True, False])
def test_the_split_on_an_lstm_language_model(tie_weights: bool) -> None:
    """LSTM matrices are Muon's; the embedding and the decoder (tied or not) AdamW's."""
    model = AWDLSTM(50, layers=2, embed_dim=8, hidden_size=12, tie_weights=tie_weights)
    expected = {f"rnns.{i}.lstm.weight_{k}_l0" for i in range(2) for k in ("ih", "hh")}
    assert muon_names(model) == expected
    if not tie_weights:
        assert "decoder.weight" in MuonWithAdamW(model.named_modules()).adamw_names


def test_the_split_on_the_transformer() -> None:
    """Attention and feed-forward matrices are Muon's; token embeddings and the untied output
    projection ``embed_out`` AdamW's."""
    model = tiny_transformer()
    layers = ["encoder.layers.0.self_attn", "decoder.layers.0.self_attn",
              "decoder.layers.0.encoder_attn"]  # fmt: skip
    expected = {f"{a}.{p}" for a in layers for p in ("in_proj_weight", "out_proj.weight")}
    stacks = ("encoder", "decoder")
    expected |= {f"{c}.layers.0.ffn.{fc}.weight" for c in stacks for fc in ("fc1", "fc2")}
    optimizer = MuonWithAdamW(model.named_modules())
    assert set(optimizer.muon_names) == expected
    assert {"encoder.embed_tokens.weight", "decoder.embed_out"} <= set(optimizer.adamw_names)


def test_the_adaptive_softmax_is_the_output_layer() -> None:
    model = SUITE_MODELS["billion_word_lstm"]()
    assert muon_names(model) == {f"lstm.weight_{k}_l{i}" for k in ("ih", "hh") for i in (0, 1)}


@pytest.mark.parametrize("name", SUITE_MODELS)
def test_every_suite_model_builds_and_steps(name: str) -> None:
    """torch's Muon raises on any tensor that is not 2-D: none reaches it, for any model."""
    model = SUITE_MODELS[name]()
    optimizer = MuonWithAdamW(model.named_modules())
    muon = {id(p) for part in optimizer.parts[:-1] for g in part.param_groups for p in g["params"]}
    assert all(p.ndim == 2 for p in model.parameters() if id(p) in muon)
    generator = torch.Generator().manual_seed(0)
    for param in model.parameters():
        param.grad = torch.randn(param.shape, generator=generator)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))


def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        inputs = torch.randn(16, 1, 8, 8, generator=generator)
        targets = torch.randint(0, 10, (16,), generator=generator)
        nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def test_muon_state_dict_round_trip_continues_exactly() -> None:
    """Saved after 5 steps and loaded into a fresh optimizer on a copy of the model, the next 5
    steps equal the original's bit for bit; both lrs are in ``param_groups``."""
    model = DigitsCNN()
    optimizer = MuonWithAdamW(model.named_modules(), lr=0.02, adamw_lr=3e-3)
    assert [g["lr"] for g in optimizer.param_groups] == [0.02, 3e-3]
    train_steps(model, optimizer, 5, seed=1)
    twin = copy.deepcopy(model)
    restored = MuonWithAdamW(twin.named_modules(), lr=0.02, adamw_lr=3e-3)
    restored.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    assert restored.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()
    for opt in (optimizer, restored):
        for group in opt.param_groups:
            group["lr"] *= 0.5  # the loop's schedule scales each group: it must reach both parts
    train_steps(model, optimizer, 5, seed=2)
    train_steps(twin, restored, 5, seed=2)
    for ours, theirs in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(ours, theirs)


def test_schedule_free_evaluates_at_x_and_restores_y_exactly() -> None:
    model = DigitsCNN()
    optimizer = AdamWScheduleFree(model.parameters(), lr=0.01)
    train_steps(model, optimizer, 3, seed=1)
    y = [p.detach().clone() for p in model.parameters()]
    with optimizer.averaged_parameters():
        x = [p.detach().clone() for p in model.parameters()]
        assert not optimizer.param_groups[0]["train_mode"]
    assert any(not torch.equal(a, b) for a, b in zip(x, y, strict=True)), "x differs from y"
    for param, kept in zip(model.parameters(), y, strict=True):
        assert torch.equal(param, kept)
    # x is the schedulefree package's own eval(): y lerped towards z by 1 - 1/beta1
    reference = copy.deepcopy(optimizer)
    reference.eval()
    for param, at_x in zip(reference.param_groups[0]["params"], x, strict=True):
        assert torch.equal(param, at_x)
    train_steps(model, optimizer, 1, seed=2)  # back in train mode: stepping works


def test_schedule_free_state_dict_resumes_in_train_mode() -> None:
    model = DigitsCNN()
    optimizer = AdamWScheduleFree(model.parameters())
    train_steps(model, optimizer, 3, seed=1)
    twin = copy.deepcopy(model)
    restored = AdamWScheduleFree(twin.parameters())
    restored.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    train_steps(model, optimizer, 3, seed=2)
    train_steps(twin, restored, 3, seed=2)
    for ours, theirs in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("preset", NEW_PRESETS)
def test_new_preset_builds_for_the_digits_model(
    preset: str, compose: Callable[..., DictConfig]
) -> None:
    cfg = compose(f"optimizer={preset}")
    optimizer = build_optimizer(cfg, DigitsCNN())
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 8
    assert optimizer.param_groups[0]["lr"] == cfg.optimizer.lr


def test_a_custom_class_asking_for_modules_gets_them(compose: Callable[..., DictConfig]) -> None:
    cfg = compose("optimizer=custom", "optimizer._target_=optimizers.muon_with_adamw.MuonWithAdamW")
    assert build_optimizer(cfg, DigitsCNN()).muon_names == ["classifier.1.weight"]


def test_schedule_free_refuses_another_schedule(compose: Callable[..., DictConfig]) -> None:
    for overrides in (["schedule=cosine"], ["schedule/warmup=linear"]):
        cfg = compose("optimizer=schedulefree_adamw", *overrides)
        with pytest.raises(ConfigError, match="runs with schedule=constant"):
            build_optimizer(cfg, DigitsCNN())
