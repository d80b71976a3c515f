"""The embedded default task's CNN (docs/architecture.md, "The embedded default task").

conv(1→16, 3×3, pad 1) → ReLU → max-pool 2 → conv(16→32, 3×3, pad 1) → ReLU → max-pool 2
→ flatten → linear(128→64) → ReLU → linear(64→10): 13,706 parameters. No BatchNorm or dropout,
so distributed and resume tests can demand exact equality.
"""

from __future__ import annotations

from torch import Tensor, nn


class DigitsCNN(nn.Module):
    """A two-convolution network for scikit-learn's 8×8 digits."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
