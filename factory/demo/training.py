"""The demo models' training loop: seeded AdamW, linear warmup then cosine decay to a floor.

Both demo models (the chat model and the MT model) train with it; each supplies how a batch of
example indices becomes a loss.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)


def warmup_cosine(steps: int, floor: float) -> Callable[[int], float]:
    """Learning-rate factor: linear warmup over 5% of `steps`, then cosine decay to `floor`."""
    warmup = max(1, steps // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class TrainingConfig(Protocol):
    """The fields both demo model configs have."""

    train_steps: int
    batch_size: int
    learning_rate: float
    seed: int


def pad(rows: list[list[int]], value: int):
    """`rows` as one long tensor, each row right-padded with `value` to the longest."""
    import torch

    out = torch.full((len(rows), max(map(len, rows))), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return out


def train(
    model,
    config: TrainingConfig,
    *,
    examples: int,
    batch_loss: Callable[[list[int]], object],
    lr_floor: float,
    name: str,
) -> None:
    """`config.train_steps` AdamW steps, each on `config.batch_size` example indices drawn with a
    generator seeded by `config.seed`."""
    import torch

    steps, batch_size = config.train_steps, config.batch_size
    seed, learning_rate = config.seed, config.learning_rate

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(steps, lr_floor))
    model.train()
    for step in range(steps):
        picks = torch.randint(examples, (batch_size,), generator=generator).tolist()
        loss = batch_loss(picks)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 200 == 0 or step == steps - 1:
            logger.info("%s step %d/%d loss %.3f", name, step, steps, loss.item())
    model.eval()
