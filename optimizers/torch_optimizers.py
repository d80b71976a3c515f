"""SGD, Adagrad and RMSprop: torch.optim's classes, whose semantics are the papers'.

The papers' baselines (RAdam §5 and Appendix, AdaBound §5: SGD with momentum, Adagrad,
RMSprop) are these updates with coupled L2 weight decay (g ← g + wd·θ):

- ``SGD``: b ← μ·b + g (dampening 0), θ ← θ − η·b (Nesterov: θ ← θ − η·(g + μ·b));
- ``Adagrad``: s ← s + g², θ ← θ − η/(1 + (t−1)·lr_decay) · g/(√s + ε);
- ``RMSprop``: v ← α·v + (1−α)·g², θ ← θ − η·g/(√v + ε) (ε outside the root).

They are re-exported unchanged so presets and user code import every optimizer from one place.
"""

from torch.optim import SGD, Adagrad, RMSprop

__all__ = ["SGD", "Adagrad", "RMSprop"]
