"""The shallow end-to-end CNN of Dieleman & Schrauwen (2014), "End-to-end learning for
music audio", as replicated in "Digging Deeper into Automatic Music Tagging".

Architecture for one subclip of ``n`` samples (2.9 s; 34,950 samples at 12 kHz)::

    frontend  raw:      conv(F filters, length L, stride S), norm, ReLU  -> [F, frames]
              logmel:   |STFT(win n_fft, hop S)|^2 -> mel -> log(1 + 10000 x)
                                                                 -> [n_mels, frames]
              harmonic: |STFT(win n_fft, hop S)|^2 -> harmonic filters (learnt Q)
                        -> log(1 + 10000 x)                      -> [6 x 119, frames]
    zero-pad (3, 4), conv(32, 8), norm, ReLU, max-pool 4 (ceil)
    zero-pad (3, 4), conv(32, 8), norm, ReLU, max-pool 4 (ceil)
    flatten -> dropout -> dense 100 -> norm -> ReLU -> dropout -> dense n_tags (logits)

with ``frames = (n - L) // S + 1`` (valid strided conv) or ``(n - n_fft) // S + 1``
(``center=False`` STFT; n_fft defaults to L). The spectral front ends
(:mod:`mtlib.models.frontends`) feed their bands straight into the first length-8 conv, as
Dieleman & Schrauwen's spectrogram input does: no learnt layer, norm or ReLU in between.

Padding choice. The original used valid convolutions; with L = S = 1024 a subclip has only
34 frames, and two valid length-8 convs with pooling would leave 34 -> 27 -> 6 -> (too short).
Here every length-8 conv is "same"-padded (3 zeros left, 4 right, so it keeps the length)
and every max-pool uses ``ceil_mode`` (a partial window at the end still gives an output).
The time axis therefore goes ``frames -> ceil(frames/4) -> ceil(ceil(frames/4)/4)`` and any
subclip with at least ``L`` samples works; e.g. 256/256: 136 -> 34 -> 9 (dense input 288),
1024/1024: 34 -> 9 -> 3 (dense input 96). The same rule is used for all seven (L, S) pairs
of Table I so they differ only in the frontend.

The layers run on ``[N, channels, 1, frames]`` time maps (:mod:`mtlib.models.layers`: the
parameters are those of the 1-D layers, the layout is faster on a CPU). The network maps
``[..., 1, n]`` to subclip logits ``[..., n_tags]``; for a batch of clips
``[B, 10, 1, n]`` it returns ``[B, 10, n_tags]``. How subclip outputs become a clip
prediction (per-subclip loss for training, mean of sigmoid probabilities for evaluation)
is decided in :mod:`mtlib.training.fit`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mtlib.config import ConfigError
from mtlib.models.frontends import HarmonicFrontend, LogMelFrontend, stft_frames
from mtlib.models.layers import (
    FrameConv,
    TimeConv,
    TimePool,
    flatten_units,
    make_norm,
    time_maps,
)

CONV_CHANNELS = 32
CONV_LENGTH = 8
POOL = 4
HIDDEN = 100


def n_frames(input_samples: int, length: int, stride: int) -> int:
    """Frames of the strided first layer for a subclip of ``input_samples`` samples."""
    if input_samples < length:
        raise ConfigError(
            f"subclip of {input_samples} samples is shorter than the filter length L={length}"
        )
    return (input_samples - length) // stride + 1


def dense_input_frames(input_samples: int, length: int, stride: int) -> int:
    """Time steps left after the two ceil-mode max-pools (the dense layer sees 32 x this)."""
    return math.ceil(math.ceil(n_frames(input_samples, length, stride) / POOL) / POOL)


class DielemanCNN(nn.Module):
    """Shallow strided-conv tagger; see the module docstring for the layer list.

    Args:
        n_tags: outputs (logits).
        input_samples: subclip length in samples (clip_samples // 10).
        filters, length, stride: F, L, S of the first layer (samples).
        norm: none | batch | layer | group, after every conv and the hidden dense layer,
            before the ReLU; never on the output layer.
        groups: groups for ``norm="group"``.
        dropout: p of the dropout before each dense layer.
        frontend: raw | logmel | harmonic. The spectral ones (:mod:`mtlib.models.frontends`)
            replace the strided conv and its norm and ReLU, as Dieleman & Schrauwen's
            spectrogram input does: their channels feed the first length-8 conv directly.
        sample_rate: Hz (spectral front ends). n_mels: mel bands (logmel).
        n_fft: STFT window of the spectral front ends in samples (None: L); their hop is S.
        remove_dc: the spectral front ends subtract each subclip's mean before the STFT.
        learn_f0: the harmonic front end learns its fundamentals (else only Q).
    """

    def __init__(
        self,
        n_tags: int,
        input_samples: int,
        filters: int = 32,
        length: int = 256,
        stride: int = 256,
        norm: str = "none",
        groups: int = 8,
        dropout: float = 0.0,
        frontend: str = "raw",
        sample_rate: int = 12000,
        n_mels: int = 128,
        n_fft: int | None = None,
        remove_dc: bool = True,
        learn_f0: bool = False,
    ) -> None:
        super().__init__()
        self.input_samples = input_samples
        self.n_tags = n_tags
        n_fft = n_fft or length
        if frontend == "raw":
            frames = n_frames(input_samples, length, stride)
            self.frontend = nn.Sequential(FrameConv(filters, length, stride),
                                          make_norm(norm, filters, groups, maps=True), nn.ReLU())
            channels = filters
        elif frontend in ("logmel", "harmonic"):
            frames = stft_frames(input_samples, n_fft, stride)
            self.frontend = (LogMelFrontend(sample_rate, n_fft, stride, n_mels, remove_dc)
                             if frontend == "logmel"
                             else HarmonicFrontend(sample_rate, n_fft, stride,
                                                   learn_f0=learn_f0, remove_dc=remove_dc))
            channels = self.frontend.channels
        else:
            raise ConfigError(f"unknown frontend {frontend!r}; valid: raw, logmel, harmonic")
        t = math.ceil(math.ceil(frames / POOL) / POOL)

        def conv_block(c_in: int) -> nn.Sequential:
            return nn.Sequential(
                nn.ConstantPad1d(((CONV_LENGTH - 1) // 2, CONV_LENGTH // 2), 0.0),  # "same"
                TimeConv(c_in, CONV_CHANNELS, CONV_LENGTH),
                make_norm(norm, CONV_CHANNELS, groups, maps=True),
                nn.ReLU(),
                TimePool(POOL, ceil_mode=True),
            )

        self.conv = nn.Sequential(conv_block(channels), conv_block(CONV_CHANNELS))
        self.hidden = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(CONV_CHANNELS * t, HIDDEN),
            make_norm(norm, HIDDEN, groups),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(HIDDEN, n_tags))
        self.feature_dim = HIDDEN

    def output_layer(self) -> nn.Linear:
        """The last dense layer (its biases: :func:`mtlib.models.layers.init_output_prior`)."""
        return self.head[-1]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 1, input_samples]`` float samples -> ``[..., 100]`` hidden-layer features."""
        flat, lead = flatten_units(x, self.input_samples, "DielemanCNN")
        maps = self.frontend(flat)
        if maps.dim() == 3:  # a spectral front end's [N, bands, frames]
            maps = time_maps(maps)
        return self.hidden(self.conv(maps)).reshape(*lead, HIDDEN)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """``[..., 100]`` features -> ``[..., n_tags]`` logits."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 1, input_samples]`` float samples -> ``[..., n_tags]`` logits."""
        return self.classify(self.embed(x))
