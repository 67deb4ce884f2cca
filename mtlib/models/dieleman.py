"""The shallow end-to-end CNN of Dieleman & Schrauwen (2014), "End-to-end learning for
music audio", as replicated in "Digging Deeper into Automatic Music Tagging".

Architecture for one subclip of ``n`` samples (2.9 s; 34,950 samples at 12 kHz)::

    frontend  raw:    conv(F filters, length L, stride S)            -> [F, frames]
              logmel: |STFT(n_fft = win = L, hop = S)|^2 -> mel -> log(1 + 10000 x)
                      -> 1x1 conv (n_mels -> F)                      -> [F, frames]
    norm, ReLU
    zero-pad (3, 4), conv(32, 8), norm, ReLU, max-pool 4 (ceil)
    zero-pad (3, 4), conv(32, 8), norm, ReLU, max-pool 4 (ceil)
    flatten -> dropout -> dense 100 -> norm -> ReLU -> dropout -> dense n_tags (logits)

with ``frames = (n - L) // S + 1`` (valid strided conv / ``center=False`` STFT).

Padding choice. The original used valid convolutions; with L = S = 1024 a subclip has only
34 frames, and two valid length-8 convs with pooling would leave 34 -> 27 -> 6 -> (too short).
Here every length-8 conv is "same"-padded (3 zeros left, 4 right, so it keeps the length)
and every max-pool uses ``ceil_mode`` (a partial window at the end still gives an output).
The time axis therefore goes ``frames -> ceil(frames/4) -> ceil(ceil(frames/4)/4)`` and any
subclip with at least ``L`` samples works; e.g. 256/256: 136 -> 34 -> 9 (dense input 288),
1024/1024: 34 -> 9 -> 3 (dense input 96). The same rule is used for all seven (L, S) pairs
of Table I so they differ only in the frontend.

The network maps ``[..., 1, n]`` to subclip logits ``[..., n_tags]``; for a batch of clips
``[B, 10, 1, n]`` it returns ``[B, 10, n_tags]``. How subclip outputs become a clip
prediction (per-subclip loss for training, mean of sigmoid probabilities for evaluation)
is decided in :mod:`mtlib.train`.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from mtlib.config import ConfigError
from mtlib.models.layers import flatten_units, make_norm

CONV_CHANNELS = 32
CONV_LENGTH = 8
POOL = 4
HIDDEN = 100
LOG_COMPRESSION = 10_000.0  # C in log(1 + C x), Dieleman & Schrauwen's spectrogram baseline


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


def usable_mel_bands(n_fft: int, sample_rate: int, n_mels: int) -> int:
    """Largest band count <= ``n_mels`` whose mel filterbank has no all-zero band.

    Short windows (L = 128 at 12 kHz: 65 FFT bins) cannot resolve 128 mel bands; empty bands
    would be constant inputs, so the band count is reduced until each band covers a bin.
    """
    from torchaudio.functional import melscale_fbanks

    for m in range(n_mels, 0, -1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchaudio warns about the empty bands we test for
            fb = melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, m, sample_rate)
        if bool((fb.sum(0) > 0).all()):
            return m
    raise ConfigError(f"no usable mel filterbank for n_fft={n_fft} at {sample_rate} Hz")


class LogMelFrontend(nn.Module):
    """``[N, 1, n]`` samples -> ``[N, n_mels, frames]`` log-compressed mel power spectrogram."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> None:
        super().__init__()
        from torchaudio.transforms import MelSpectrogram

        self.n_mels = usable_mel_bands(n_fft, sample_rate, n_mels)
        # center=False: the same frame count as the raw strided conv, (n - L) // S + 1.
        self.mel = MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, win_length=n_fft, hop_length=hop,
            n_mels=self.n_mels, center=False, power=2.0,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The STFT runs in float32 even under bf16 autocast (spectra need the range).
        with torch.autocast(device_type=x.device.type, enabled=False):
            spec = self.mel(x.float()).squeeze(1)
        return torch.log1p(LOG_COMPRESSION * spec)


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
        frontend: raw | logmel; sample_rate (Hz) and n_mels are used by logmel only.
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
    ) -> None:
        super().__init__()
        self.input_samples = input_samples
        self.n_tags = n_tags
        t = dense_input_frames(input_samples, length, stride)
        if frontend == "raw":
            self.frontend = nn.Conv1d(1, filters, length, stride=stride)
        elif frontend == "logmel":
            mel = LogMelFrontend(sample_rate, length, stride, n_mels)
            self.frontend = nn.Sequential(mel, nn.Conv1d(mel.n_mels, filters, 1))
        else:
            raise ConfigError(f"unknown frontend {frontend!r}; valid: raw, logmel")
        self.frontend_act = nn.Sequential(make_norm(norm, filters, groups), nn.ReLU())

        def conv_block(c_in: int) -> nn.Sequential:
            return nn.Sequential(
                nn.ConstantPad1d(((CONV_LENGTH - 1) // 2, CONV_LENGTH // 2), 0.0),  # "same"
                nn.Conv1d(c_in, CONV_CHANNELS, CONV_LENGTH),
                make_norm(norm, CONV_CHANNELS, groups),
                nn.ReLU(),
                nn.MaxPool1d(POOL, ceil_mode=True),
            )

        self.conv = nn.Sequential(conv_block(filters), conv_block(CONV_CHANNELS))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(CONV_CHANNELS * t, HIDDEN),
            make_norm(norm, HIDDEN, groups),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(HIDDEN, n_tags),
        )

    def output_layer(self) -> nn.Linear:
        """The last dense layer (its biases: :func:`mtlib.models.layers.init_output_prior`)."""
        return self.head[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 1, input_samples]`` float samples -> ``[..., n_tags]`` logits."""
        flat, lead = flatten_units(x, self.input_samples, "DielemanCNN")
        h = self.frontend_act(self.frontend(flat))
        return self.head(self.conv(h)).reshape(*lead, self.n_tags)
