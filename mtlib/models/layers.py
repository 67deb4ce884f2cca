"""Building blocks shared by the models: time-map layers, normalisation layers, output init,
shape helpers.

Time maps
---------
The convolutional models keep their activations as ``[N, C, 1, T]`` maps in channels-last
memory and run each 1-D layer as a 2-D one of height 1 (:class:`TimeConv`, :class:`TimePool`,
``make_norm(..., maps=True)``). The parameters, and so the state dicts, are those of the 1-D
layers, and the outputs are the same up to float rounding. The reason is speed: on a CPU,
oneDNN's channels-last kernels avoid the layout copies of its 1-D path, which took a quarter
of SampleCNN's training step. ``benchmarks/bench_layout.py`` measures both layouts.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mtlib.config import LAYER_NORMS, ConfigError


def time_maps(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, T]`` -> ``[N, C, 1, T]`` in channels-last memory (what the time-map layers
    take)."""
    return x.unsqueeze(2).to(memory_format=torch.channels_last)


class TimeConv(nn.Conv1d):
    """:class:`torch.nn.Conv1d` (same arguments, parameters and state dict) applied to
    ``[N, C_in, 1, T]`` time maps: returns ``[N, C_out, 1, T']`` in the input's layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # oneDNN picks its output layout from the input's strides and the weights': set
        # both, since a one-channel tensor's default strides fit either layout.
        weight = self.weight.unsqueeze(2).to(memory_format=torch.channels_last)
        return F.conv2d(x, weight, self.bias, (1, self.stride[0]), (0, self.padding[0]),
                        (1, self.dilation[0]), self.groups)


class FrameConv(TimeConv):
    """The strided first convolution of a raw-audio model, one input channel:
    ``[N, 1, n]`` samples -> ``[N, filters, 1, frames]`` channels-last time maps, with
    ``frames = (n - length) // stride + 1``.

    Computed as a matrix product of the signal's frames (``unfold``, a view) with the
    ``[filters, length]`` weights: the output lands in channels-last order with no copy, and
    a CPU runs this product faster than a convolution with a long kernel.
    """

    def __init__(self, filters: int, length: int, stride: int) -> None:
        super().__init__(1, filters, length, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x[:, 0].unfold(-1, self.kernel_size[0], self.stride[0])  # [N, frames, L]
        out = F.linear(frames, self.weight[:, 0], self.bias)  # [N, frames, filters]
        return out.transpose(1, 2).unsqueeze(2)


class TimePool(nn.MaxPool2d):
    """Max-pooling of ``size`` steps along time on ``[N, C, 1, T]`` time maps."""

    def __init__(self, size: int, ceil_mode: bool = False) -> None:
        super().__init__((1, size), ceil_mode=ceil_mode)


def as_1d(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every time-map layer replaced by the 1-D layer it stands for
    (:class:`torch.nn.Conv1d`, ``BatchNorm1d``, ``MaxPool1d``); the parameter names and
    shapes are the same, so either loads the other's state dict. The reference that the
    tests and ``benchmarks/bench_layout.py`` compare the time-map layers with; its modules
    take ``[N, C, T]``."""
    if isinstance(module, TimeConv):
        return nn.Conv1d(module.in_channels, module.out_channels, module.kernel_size[0],
                         stride=module.stride[0], padding=module.padding[0])
    if isinstance(module, nn.BatchNorm2d):
        return nn.BatchNorm1d(module.num_features)
    if isinstance(module, TimePool):
        return nn.MaxPool1d(module.kernel_size[1], ceil_mode=module.ceil_mode)
    out = copy.deepcopy(module)
    for name, child in list(out.named_children()):
        setattr(out, name, as_1d(child))
    return out


def make_norm(kind: str, channels: int, groups: int = 8, maps: bool = False) -> nn.Module:
    """A normalisation layer for ``[N, channels, time]`` or ``[N, channels]`` activations,
    or with ``maps`` for ``[N, channels, 1, time]`` time maps (the state dict is the same).

    - ``none``: identity.
    - ``batch``: batch norm over (batch, time) per channel.
    - ``layer``: GroupNorm with one group: per example over (channels, time), with a learned
      per-channel scale and shift (the usual "layer norm" for conv feature maps; on a dense
      layer it equals LayerNorm).
    - ``group``: GroupNorm with ``gcd(groups, channels)`` groups, so widths that ``groups``
      does not divide (the 100-unit dense layer with 8 groups -> 4 groups) still work.
    """
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels) if maps else nn.BatchNorm1d(channels)
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
