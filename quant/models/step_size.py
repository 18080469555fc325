"""A learning rate that depends on the current training loss (the LSTM paper's remedy for
training that stalls once the loss is small).

The paper's formula is garbled in our copy; what survives is its intent: "while the error
is large (above 1) the training is not sensitive to alpha; when the loss is small, alpha
controls the range of the step". We implement

    lr_k = base_lr / (loss_k + alpha),   clipped to [min_lr, max_lr]

- loss_k >> alpha: lr_k ~ base_lr / loss_k, whatever alpha is (insensitive to alpha);
- loss_k -> 0: lr_k -> base_lr / alpha, so alpha bounds how large the step may grow.

The step therefore *grows* as the loss falls, which keeps late updates from stagnating.
With Adam (the optimiser of :func:`quant.models.training.fit`) the learning rate is the
size of each parameter's step, so the formula acts directly on the step length. The clip
keeps a diverging loss from freezing training and a tiny alpha from exploding it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LossDependentStep:
    """Callable for ``fit(..., step_size=...)``: maps the latest batch loss to the next
    learning rate. Defaults: min_lr = base_lr / 100, max_lr = base_lr / alpha."""

    base_lr: float = 1e-3
    alpha: float = 0.1
    min_lr: float | None = None
    max_lr: float | None = None

    def __post_init__(self) -> None:
        if self.base_lr <= 0 or self.alpha <= 0:
            raise ValueError(
                f"base_lr and alpha must be positive, got {self.base_lr} and {self.alpha}"
            )

    @property
    def bounds(self) -> tuple[float, float]:
        low = self.base_lr / 100 if self.min_lr is None else self.min_lr
        high = self.base_lr / self.alpha if self.max_lr is None else self.max_lr
        return low, high

    def __call__(self, loss: float) -> float:
        low, high = self.bounds
        if not math.isfinite(loss) or loss < 0:
            return low
        return min(max(self.base_lr / (loss + self.alpha), low), high)
