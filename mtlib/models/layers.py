"""Building blocks shared by the models: normalisation layers, output init, shape helpers."""

from __future__ import annotations

import math

import numpy as np
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


def init_output_prior(output: nn.Linear, n_positive: np.ndarray, n_clips: int) -> None:
    """Set the output biases to the log-odds of each tag's training frequency.

    ``n_positive`` (int [n_tags]) counts the training clips with each tag among ``n_clips``.
    The rate is smoothed, ``(n_positive + 0.5) / (n_clips + 1)``, so a tag without positives
    gets a finite bias. At the first step every sigmoid output then already predicts its
    tag's frequency, and the gradients go to the features instead of to the biases.
    """
    n_positive = np.asarray(n_positive, dtype=np.float64)
    if n_positive.shape != (output.out_features,):
        raise ConfigError(
            f"{len(n_positive)} tag counts for an output layer of {output.out_features} tags"
        )
    rate = (n_positive + 0.5) / (n_clips + 1.0)
    with torch.no_grad():
        output.bias.copy_(torch.from_numpy(np.log(rate / (1.0 - rate))))


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
