"""Model registry: :func:`build_model` turns a :class:`~mtlib.config.RunConfig` into a network.

Every model maps ``[..., 1, input_samples]`` float samples to ``[..., n_tags]`` logits and
exposes ``input_samples`` (the length of one unit: a Dieleman subclip or a SampleCNN
segment), ``output_layer()`` (its last ``nn.Linear``, whose biases training initialises
from the tag frequencies, :func:`mtlib.models.layers.init_output_prior`), and the split
``forward(x) = classify(embed(x))`` with ``feature_dim`` features per unit, which the
label-embedding regulariser (``config.tag_embedding``, :mod:`mtlib.models.tag_embedding`)
trains on.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from mtlib.config import ConfigError, RunConfig
from mtlib.constants import N_SUBCLIPS, SEGMENT_SAMPLES
from mtlib.models.dieleman import DielemanCNN
from mtlib.models.layers import count_parameters
from mtlib.models.samplecnn import SampleCNN
from mtlib.models.tag_embedding import TagEmbedding

__all__ = [
    "DielemanCNN",
    "SampleCNN",
    "build_model",
    "count_parameters",
    "model_names",
    "register_model",
]

Builder = Callable[[RunConfig, int, int], nn.Module]
_REGISTRY: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator: register ``builder(config, n_tags, clip_samples) -> nn.Module``."""

    def deco(builder: Builder) -> Builder:
        _REGISTRY[name] = builder
        return builder

    return deco


def model_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def build_model(config: RunConfig, n_tags: int, clip_samples: int) -> nn.Module:
    """The network for ``config`` with ``n_tags`` outputs, for clips of ``clip_samples``."""
    try:
        builder = _REGISTRY[config.model]
    except KeyError:
        raise ConfigError(
            f"unknown model {config.model!r}; valid: {', '.join(model_names())}"
        ) from None
    if n_tags < 1:
        raise ConfigError(f"n_tags must be >= 1, got {n_tags}")
    model = builder(config, n_tags, clip_samples)
    if config.tag_embedding > 0:
        # A submodule, so its projection trains and checkpoints with the model.
        model.tag_embedding = TagEmbedding(model.feature_dim, n_tags, config.tag_embedding_dim)
    return model


@register_model("dieleman")
def _build_dieleman(config: RunConfig, n_tags: int, clip_samples: int) -> nn.Module:
    return DielemanCNN(
        n_tags=n_tags,
        input_samples=clip_samples // N_SUBCLIPS,
        filters=config.filters,
        length=config.length,
        stride=config.stride,
        norm=config.model_norm,
        groups=config.groups,
        dropout=config.model_dropout,
        frontend=config.frontend,
        sample_rate=config.sample_rate,
        n_mels=config.n_mels,
        n_fft=config.n_fft,
        remove_dc=config.spectral_dc == "remove",
        learn_f0=config.harmonic_f0 == "learnt",
    )


@register_model("samplecnn")
def _build_samplecnn(config: RunConfig, n_tags: int, clip_samples: int) -> nn.Module:
    if clip_samples < SEGMENT_SAMPLES:
        raise ConfigError(
            f"SampleCNN needs clips of >= {SEGMENT_SAMPLES} samples, the cache has {clip_samples}"
        )
    return SampleCNN(
        n_tags=n_tags, norm=config.model_norm, groups=config.groups, dropout=config.model_dropout
    )
