"""Building blocks shared by the models: normalisation layers and shape helpers."""

from __future__ import annotations

import math

import torch
from torch import nn

from mtlib.config import LAYER_NORMS, ConfigError


def make_norm(kind: str, channels: int, groups: int = 8) -> nn.Module:
    """A normalisation layer for ``[N, channels, time]`` or ``[N, channels]`` activations.

    - ``none``: identity.
    - ``batch``: BatchNorm1d over (batch, time) per channel.
    - ``layer``: GroupNorm with one group: per example over (channels, time), with a learned
      per-channel scale and shift (the usual "layer norm" for conv feature maps; on a dense
      layer it equals LayerNorm).
    - ``group``: GroupNorm with ``gcd(groups, channels)`` groups, so widths that ``groups``
      does not divide (the 100-unit dense layer with 8 groups -> 4 groups) still work.
    """
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(groups, channels), channels)
    raise ConfigError(f"unknown norm {kind!r}; valid: {', '.join(LAYER_NORMS)}")


def flatten_units(x: torch.Tensor, input_samples: int, model: str) -> tuple[torch.Tensor, tuple]:
    """Check ``x`` is ``[..., 1, input_samples]`` and flatten the leading dims.

    Returns the ``[N, 1, input_samples]`` view and the leading shape to restore afterwards.
    """
    if x.dim() < 2 or x.shape[-2] != 1 or x.shape[-1] != input_samples:
        raise ValueError(
            f"{model} expects input [..., 1, {input_samples}] (samples), got {tuple(x.shape)}"
        )
    lead = tuple(x.shape[:-2])
    return x.reshape(-1, 1, input_samples), lead


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (buffers such as BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
