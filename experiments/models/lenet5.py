"""LeNet-5 for 32×32×3 images, as in the Adam-decay blog's CIFAR-10 experiment.

The blog (tf.keras) names the architecture but not its details; Keras conventions are
**assumed** (docs/papers.md §3): conv 6@5×5 'valid' → ReLU → max-pool 2 → conv 16@5×5 'valid' →
ReLU → max-pool 2 → flatten (16·5·5 = 400) → FC 120 → ReLU → FC 84 → ReLU → FC 10,
62,006 parameters. ReLU (not LeCun's scaled tanh) and max pooling (not subsampling) are
assumed. The model returns logits; Keras' final softmax lives in the cross-entropy loss.

``keras_init=True`` (default, also assumed) initialises like Keras' defaults: Glorot-uniform
weights and zero biases; ``False`` keeps torch's default initialisation. Keras flattens in
channels-last order; here the flatten is channels-first, which only permutes the rows of the
first FC weight and so does not change the model family or its random initialisation law.
"""

from __future__ import annotations

import torch
from torch import nn


class LeNet5(nn.Module):
    """Two conv/ReLU/max-pool stages and three fully connected layers."""

    def __init__(self, num_classes: int = 10, keras_init: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )
        if keras_init:
            for module in self.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    nn.init.xavier_uniform_(module.weight)
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def lenet5(num_classes: int = 10, keras_init: bool = True) -> LeNet5:
    """LeNet-5 for 32×32×3 inputs with the assumed Keras conventions (see module docstring)."""
    return LeNet5(num_classes, keras_init)
