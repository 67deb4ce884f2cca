"""Spectral front ends for the shallow CNN: each replaces the strided first convolution and
feeds the convolutional stack a ``[N, channels, frames]`` time-frequency representation.

- :class:`LogMelFrontend`: Dieleman & Schrauwen's spectrogram input, a log-compressed mel
  power spectrogram whose bands are the channels of the first length-8 convolution.
- :class:`HarmonicFrontend`: the data-driven harmonic filters of Won, Chun, Nieto & Serra
  (ICASSP 2020): a bank of triangular band-pass filters on the power spectrogram, one per
  (harmonic, fundamental), whose fundamentals and bandwidth are learnt. Its
  ``[harmonics, fundamentals, frames]`` harmonic tensor is flattened into channels.

Both use a ``center=False`` STFT with window ``n_fft`` and hop ``hop`` samples, so a subclip
of ``n`` samples gives ``(n - n_fft) // hop + 1`` frames (:func:`stft_frames`), and both
compress with ``log(1 + C x)``, ``C = 10,000`` (Dieleman & Schrauwen's spectrogram baseline),
so the two differ only in their filter bank. The spectra run in float32 even under bf16
autocast (a power spectrum needs the range).
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from mtlib.config import ConfigError

LOG_COMPRESSION = 10_000.0  # C in log(1 + C x)
# Harmonic front end (Won et al. 2020): six harmonics, fundamentals a quarter tone apart from
# C1, bandwidths from the ERB scale of Glasberg & Moore, ERB(f) = 0.1079 f + 24.7 Hz, divided
# by one learnable quality factor Q (initially 1).
HARMONICS = 6
F0_MIN = 32.703  # Hz, C1
BANDS_PER_OCTAVE = 24  # quarter tones
ERB_SLOPE, ERB_OFFSET = 0.1079, 24.7  # Hz


def _compress(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + C x)``; ``log`` of ``C x + 1`` runs about twice as fast on CPU as ``log1p``
    and differs only where ``C x`` is below float32 resolution."""
    return torch.log(LOG_COMPRESSION * x + 1.0)


def stft_frames(input_samples: int, n_fft: int, hop: int) -> int:
    """Frames of a ``center=False`` STFT of ``input_samples`` samples."""
    if input_samples < n_fft:
        raise ConfigError(f"subclip of {input_samples} samples is shorter than the STFT window "
                          f"n_fft={n_fft}")
    return (input_samples - n_fft) // hop + 1


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


class PowerSpectrogram(nn.Module):
    """``[N, 1, n]`` samples -> ``[N, n_fft // 2 + 1, frames]`` power spectrogram (Hann)."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        from torchaudio.transforms import Spectrogram

        self.stft = Spectrogram(n_fft=n_fft, win_length=n_fft, hop_length=hop, center=False,
                                power=2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self.stft(x.float()).squeeze(1)


class LogMelFrontend(nn.Module):
    """``[N, 1, n]`` samples -> ``[N, channels, frames]`` log-compressed mel power spectrogram,
    ``channels`` = the usable band count <= ``n_mels`` (:func:`usable_mel_bands`)."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> None:
        super().__init__()
        from torchaudio.functional import melscale_fbanks

        self.channels = usable_mel_bands(n_fft, sample_rate, n_mels)
        self.spectrogram = PowerSpectrogram(n_fft, hop)
        fb = melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, self.channels, sample_rate)
        self.register_buffer("filters", fb)  # [bins, channels], HTK mel, no area normalisation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.spectrogram(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            mel = torch.einsum("nbt,bc->nct", spec, self.filters)
            return _compress(mel)


def quarter_tone_fundamentals(sample_rate: int, harmonics: int = HARMONICS) -> torch.Tensor:
    """Fundamentals (Hz) a quarter tone apart from C1 whose highest harmonic stays below
    Nyquist: 119 of them at 12 kHz with six harmonics (C1 to 968 Hz)."""
    top = sample_rate / 2 / harmonics
    count = int(math.floor(BANDS_PER_OCTAVE * math.log2(top / F0_MIN))) + 1
    if count < 1:
        raise ConfigError(f"no fundamental above {F0_MIN} Hz fits {harmonics} harmonics below "
                          f"Nyquist at {sample_rate} Hz")
    return F0_MIN * 2.0 ** (torch.arange(count, dtype=torch.float64) / BANDS_PER_OCTAVE)


class HarmonicFrontend(nn.Module):
    """Learnable harmonic filter bank (Won et al. 2020) on the power spectrogram.

    Filter ``(h, k)`` is a triangle on the linear frequency axis centred on ``h * f0[k]``
    (h = 1..harmonics) with bandwidth ``ERB(h * f0[k]) / Q``: its response to a bin at ``f``
    Hz is ``max(0, 1 - |f - h f0[k]| / (bandwidth / 2))``. ``f0`` (one per fundamental, shared
    by its harmonics) and ``Q`` are parameters. The harmonic tensor ``[N, harmonics, K,
    frames]`` is log-compressed and flattened to ``[N, harmonics * K, frames]``.
    """

    def __init__(self, sample_rate: int, n_fft: int, hop: int,
                 harmonics: int = HARMONICS) -> None:
        super().__init__()
        self.harmonics = harmonics
        f0 = quarter_tone_fundamentals(sample_rate, harmonics)
        self.fundamentals = len(f0)
        self.channels = harmonics * self.fundamentals
        self.spectrogram = PowerSpectrogram(n_fft, hop)
        self.f0 = nn.Parameter(f0.float())  # Hz
        self.quality = nn.Parameter(torch.tensor(1.0))  # Q: bandwidth = ERB / Q
        self.register_buffer("harmonic_numbers",
                             torch.arange(1, harmonics + 1, dtype=torch.float32))
        self.register_buffer("bin_hz", torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1))

    def filterbank(self) -> torch.Tensor:
        """``[bins, harmonics * K]`` filter responses (rows: FFT bins; columns: harmonic-major)."""
        centre = self.harmonic_numbers[:, None] * self.f0[None, :]  # [H, K] Hz
        half_width = (ERB_SLOPE * centre + ERB_OFFSET) / self.quality / 2
        distance = (self.bin_hz[:, None, None] - centre[None]).abs()  # [bins, H, K]
        return torch.relu(1.0 - distance / half_width).reshape(len(self.bin_hz), -1)

    def dead_filters(self) -> int:
        """Filters that cover no FFT bin (their channel is all zeros): narrow low filters
        between two bins."""
        with torch.no_grad():
            return int((self.filterbank().sum(0) == 0).sum())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.spectrogram(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            harmonic = torch.einsum("nbt,bc->nct", spec, self.filterbank())
            return _compress(harmonic)
