"""Muon for the hidden matrices, AdamW for everything else: the split Muon's authors use.

Muon (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks",
kellerjordan.github.io/posts/muon; torch.optim.Muon since torch 2.9) orthogonalizes the
momentum of a 2-D weight with Newton–Schulz iterations. Its README: "Muon should only be used
for hidden weight layers. The input embedding, final output layer, and any internal gains or
biases should be optimized using a standard method such as AdamW". torch.optim.Muon accepts
exactly 2-D parameters (it raises on 1-D biases and 4-D conv filters), so the optimizer needs
the model's structure, not a flat parameter list: it is built from ``model.named_modules()``
(``takes_named_modules``, which ``experiments.assembly.build_optimizer`` looks for).

The split rule (tested on every model in ``experiments/models``). AdamW gets:

1. every parameter that is not 2-D (biases, norms, conv filters, LSTM biases);
2. the weights of ``nn.Embedding`` modules (a tied output head is the same tensor, listed once);
3. output projections over a vocabulary: 2-D parameters with as many rows as an embedding has
   entries (the Transformer's untied ``embed_out``, an untied language-model decoder; a hidden
   matrix whose row count happens to equal a vocabulary size goes to AdamW too);
4. the output layer: the module owning the model's last parameter (registration order), when it
   is an ``nn.Linear`` (the image classifiers' ``fc``/``linear``/``classifier``, AWD-LSTM's
   ``decoder``), and every parameter of an adaptive softmax (a module whose class name contains
   ``AdaptiveSoftmax`` or ``AdaptiveLogSoftmax``: the billion-word LSTM's output layer).

Muon gets the remaining 2-D parameters: hidden ``nn.Linear`` weights, attention projections,
LSTM input and recurrent matrices. Muon's groups come first in ``param_groups`` with base lr
``lr``; AdamW's follow with base lr ``adamw_lr`` (the loop scales each group's lr by the
schedule from its own base value), so ``optimizer.lr`` — the lr a tuning sweep varies and the one
``train/lr`` logs — is Muon's. A model without hidden matrices (the CIFAR and ImageNet ResNets
and DenseNet: convolutions and a classifier only) leaves Muon nothing: it then trains with AdamW
at ``adamw_lr`` alone, and ``param_groups[0]`` is AdamW's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim import AdamW, Muon, Optimizer

ADAPTIVE_SOFTMAX = ("AdaptiveSoftmax", "AdaptiveLogSoftmax")


def named_parameters_of(
    named_modules: Iterable[tuple[str, nn.Module]],
) -> tuple[list[tuple[str, Tensor, nn.Module]], list[tuple[str, nn.Module]]]:
    """Every trainable parameter once (``model.named_parameters()``'s order and names) with the
    module owning it, and the modules themselves."""
    modules = list(named_modules)
    seen: set[int] = set()
    owned: list[tuple[str, Tensor, nn.Module]] = []
    for prefix, module in modules:
        for name, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            owned.append((f"{prefix}.{name}" if prefix else name, param, module))
    return owned, modules


def split_parameters(
    named_modules: Iterable[tuple[str, nn.Module]] | Iterable[Tensor],
) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor]]]:
    """(Muon's, AdamW's) named parameters by the rule of the module docstring. Plain tensors
    (``optimizer=custom`` or a caller without the model) carry no structure: the 2-D ones go
    to Muon, the rest to AdamW."""
    items = list(named_modules)
    if all(isinstance(item, Tensor) for item in items):
        named = [(str(index), param) for index, param in enumerate(items)]
        return [p for p in named if p[1].ndim == 2], [p for p in named if p[1].ndim != 2]
    owned, modules = named_parameters_of(items)
    vocabularies = {m.num_embeddings for _, m in modules if isinstance(m, nn.Embedding)}
    to_adamw: set[int] = set()
    for _, module in modules:
        if isinstance(module, nn.Embedding):
            to_adamw.update(id(p) for p in module.parameters())
        if any(marker in type(module).__name__ for marker in ADAPTIVE_SOFTMAX):
            to_adamw.update(id(p) for p in module.parameters())
    if owned and isinstance(owned[-1][2], nn.Linear):
        to_adamw.update(id(p) for p in owned[-1][2].parameters())
    muon, adamw = [], []
    for name, param, _ in owned:
        hidden = param.ndim == 2 and id(param) not in to_adamw
        if hidden and param.shape[0] in vocabularies:
            hidden = False
        (muon if hidden else adamw).append((name, param))
    return muon, adamw


class MuonWithAdamW(Optimizer):
    """torch.optim.Muon on the hidden matrices and torch.optim.AdamW on the rest, stepped
    together; one ``param_groups`` list (Muon's, then AdamW's), one ``state``, one
    ``state_dict``. Defaults are torch's (``Muon``: lr 1e-3, weight decay 0.1, momentum 0.95,
    Nesterov, 5 Newton–Schulz steps with Jordan's coefficients; ``AdamW``: lr 1e-3, betas (0.9,
    0.999), eps 1e-8, weight decay 0.01)."""

    takes_named_modules = True
    """``build_optimizer`` passes ``model.named_modules()`` instead of ``model.parameters()``."""

    def __init__(
        self,
        named_modules: Iterable[tuple[str, nn.Module]] | Iterable[Tensor],
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
        adamw_lr: float = 1e-3,
        adamw_betas: tuple[float, float] = (0.9, 0.999),
        adamw_eps: float = 1e-8,
        adamw_weight_decay: float = 0.01,
    ) -> None:
        muon_params, adamw_params = split_parameters(named_modules)
        self.parts: list[Optimizer] = []
        if muon_params:
            self.parts.append(
                Muon(
                    [p for _, p in muon_params],
                    lr=lr,
                    weight_decay=weight_decay,
                    momentum=momentum,
                    nesterov=nesterov,
                    ns_steps=ns_steps,
                    adjust_lr_fn=adjust_lr_fn,
                )
            )
        if adamw_params:
            self.parts.append(
                AdamW(
                    [p for _, p in adamw_params],
                    lr=adamw_lr,
                    betas=tuple(adamw_betas),
                    eps=adamw_eps,
                    weight_decay=adamw_weight_decay,
                )
            )
        self.muon_names = [name for name, _ in muon_params]
        self.adamw_names = [name for name, _ in adamw_params]
        groups = [group for part in self.parts for group in part.param_groups]
        super().__init__(groups, {})
        self._link()

    def _link(self) -> None:
        """One ``param_groups`` list and one ``state`` shared with the two optimizers (their
        parameters are disjoint), so the loop's lr changes and ``state_dict`` reach both."""
        start = 0
        for part in self.parts:
            count = len(part.param_groups)
            part.param_groups = self.param_groups[start : start + count]
            part.state = self.state
            start += count

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for part in self.parts:
            part.step()
        return loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._link()  # torch's load_state_dict builds new group dicts and a new state
