"""Spectral front ends for the shallow CNN: each replaces the strided first convolution and
feeds the convolutional stack a ``[N, channels, frames]`` time-frequency representation.

- :class:`LogMelFrontend`: Dieleman & Schrauwen's spectrogram input, a log-compressed mel
  power spectrogram whose bands are the channels of the first length-8 convolution.
- :class:`HarmonicFrontend`: the data-driven harmonic filters of Won, Chun, Nieto & Serra
  (ICASSP 2020): a bank of triangular band-pass filters on the power spectrogram, one per
  (harmonic, fundamental), whose bandwidth (and optionally fundamentals) are learnt. Its
  ``[harmonics, fundamentals, frames]`` harmonic tensor is flattened into channels.

Both use a ``center=False`` STFT with window ``n_fft`` and hop ``hop`` samples, so a subclip
of ``n`` samples gives ``(n - n_fft) // hop + 1`` frames (:func:`stft_frames`), and both
compress with ``log(1 + C x)``, ``C = 10,000`` (Dieleman & Schrauwen's spectrogram baseline),
so the two differ only in their filter bank. The spectra run in float32 even under bf16
autocast (a power spectrum needs the range).

DC. The shallow CNN's input is min-max scaled per clip to [0, 1] (the report's input
normalisation, shared by every front end), which adds an offset of about 0.5 to the audio.
By default (``remove_dc``) the spectral front ends subtract each subclip's mean before the
STFT: min-max is ``a x + b``, so what is left is ``a`` times the audio less its own subclip
mean (about 0 for audio), i.e. the spectrogram of the audio itself up to gain, as Dieleman's
and Won's spectrograms see it. Removing the mean here, rather than feeding the spectral front
ends un-normalised audio, keeps one input pipeline for every arm: the front ends then differ
only in what they do with the same samples. ``remove_dc=False`` is the earlier behaviour, in
which the offset leaked into the lowest bins (up to 3 nats in the lowest harmonic and mel
channels).
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
    """``[N, 1, n]`` samples -> ``[N, n_fft // 2 + 1, frames]`` power spectrogram (Hann),
    of each subclip less its mean when ``remove_dc`` (see the module docstring)."""

    def __init__(self, n_fft: int, hop: int, remove_dc: bool = True) -> None:
        super().__init__()
        from torchaudio.transforms import Spectrogram

        self.remove_dc = remove_dc
        self.stft = Spectrogram(n_fft=n_fft, win_length=n_fft, hop_length=hop, center=False,
                                power=2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = x.float()
            if self.remove_dc:
                x = x - x.mean(dim=-1, keepdim=True)
            return self.stft(x).squeeze(1)


class LogMelFrontend(nn.Module):
    """``[N, 1, n]`` samples -> ``[N, channels, frames]`` log-compressed mel power spectrogram,
    ``channels`` = the usable band count <= ``n_mels`` (:func:`usable_mel_bands`)."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int,
                 remove_dc: bool = True) -> None:
        super().__init__()
        from torchaudio.functional import melscale_fbanks

        self.channels = usable_mel_bands(n_fft, sample_rate, n_mels)
        self.spectrogram = PowerSpectrogram(n_fft, hop, remove_dc)
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
    Hz is ``max(0, 1 - |f - h f0[k]| / (bandwidth / 2))``. ``Q`` is a parameter; ``f0`` (Hz,
    one per fundamental, shared by its harmonics) stays on the quarter-tone grid as in Won et
    al.'s released models, or is a parameter too when ``learn_f0`` (their option, off by
    default). The harmonic tensor ``[N, harmonics, K, frames]`` is log-compressed and
    flattened to ``[N, harmonics * K, frames]``. ``remove_dc``: see the module docstring.
    """

    def __init__(self, sample_rate: int, n_fft: int, hop: int,
                 harmonics: int = HARMONICS, learn_f0: bool = False,
                 remove_dc: bool = True) -> None:
        super().__init__()
        self.harmonics = harmonics
        f0 = quarter_tone_fundamentals(sample_rate, harmonics).float()
        self.fundamentals = len(f0)
        self.channels = harmonics * self.fundamentals
        self.spectrogram = PowerSpectrogram(n_fft, hop, remove_dc)
        # a buffer when fixed: the checkpoint holds "f0" either way
        if learn_f0:
            self.f0 = nn.Parameter(f0)  # Hz
        else:
            self.register_buffer("f0", f0)
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


def won_filterbank(sample_rate: int, n_fft: int, harmonics: int = HARMONICS,
                   quality: float = 1.0) -> torch.Tensor:
    """``[bins, harmonics, K]`` triangular filters from Won et al.'s published formula (float64),
    the reference :class:`HarmonicFrontend` is measured against (:func:`won_filterbank_gap`).

    Fundamentals from MIDI 24 (C1) upward in steps of half a semitone, up to the note nearest
    ``sample_rate / (2 * harmonics)`` (excluded), ``f0 = 440 * 2 ** ((midi - 69) / 12)`` Hz;
    filter ``(h, k)`` is centred on ``h * f0[k]`` with bandwidth ``ERB(h f0[k]) / Q``, ERB(f) =
    0.1079 f + 24.7 Hz, on ``n_fft // 2 + 1`` bins evenly spaced from 0 Hz to Nyquist.
    """
    top = round(69 + 12 * math.log2(sample_rate / (2 * harmonics) / 440.0))
    midi = 24 + torch.arange(2 * (top - 24), dtype=torch.float64) / 2
    centre = torch.arange(1, harmonics + 1, dtype=torch.float64)[:, None] * (
        440.0 * 2.0 ** ((midi - 69) / 12))[None, :]
    bandwidth = (ERB_SLOPE * centre + ERB_OFFSET) / quality
    hz = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    offset = hz[:, None, None] - centre[None]
    return torch.clamp(torch.minimum(1 + 2 * offset / bandwidth, 1 - 2 * offset / bandwidth),
                       min=0.0)


def won_filterbank_gap(sample_rate: int, n_fft: int) -> tuple[float, int]:
    """Max absolute difference between :class:`HarmonicFrontend`'s bank (Q = 1, as built) and
    :func:`won_filterbank` over the fundamentals both have, and how many those are (ours may
    add one at the top: it keeps every quarter tone whose highest harmonic is below Nyquist)."""
    reference = won_filterbank(sample_rate, n_fft)
    common = reference.shape[-1]
    with torch.no_grad():
        ours = HarmonicFrontend(sample_rate, n_fft, hop=n_fft).filterbank().double()
    ours = ours.reshape(len(reference), HARMONICS, -1)[:, :, :common]
    return float((ours - reference).abs().max()), common
