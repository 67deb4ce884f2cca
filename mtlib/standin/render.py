"""Render an arrangement with a General MIDI SoundFont, degrade it like MTAT, write the mp3.

Renderer: ``tinysoundfont`` with the ``TimGM6mb.sf2`` SoundFont that ships inside the
``pretty_midi`` wheel. Measured on this project's 2-core machines it is the fastest option
needing no system library (0.03-0.07 s of CPU per 29.1 s clip; pyfluidsynth needs
libfluidsynth and takes about twice as long), and its output is bit-identical across runs.
It is installed with ``pip install --no-deps tinysoundfont==0.3.7`` because its metadata
requires ``pyaudio``, which only live playback imports and which does not build without
PortAudio headers.

The renderer drives tinysoundfont's low-level ``SoundFont`` object directly (note events
between render calls), in mono, at 16 kHz. TinySoundFont resamples its samples without
band-limiting, so some energy above 8 kHz folds back; measured on 20 clips, the in-band
spectral deviation from a 64 kHz reference render is -17 dB when rendering at 16 kHz and
-22 dB when rendering at 32 kHz and decimating. That is of the order of the added noise
(15-35 dB SNR), while the 32 kHz path costs ~40 ms more per clip (~20 % of the generation
time), so RENDER_RATE is 16 kHz (any multiple of 16 kHz works).

Degradation (all parameters come from the recipe; noise from the clip's own generator):
level set by the dynamics class, noise at the recipe's SNR, a low-pass at the recipe's cutoff
(MTAT's 32 kbps mp3s keep about 3.5-7.5 kHz), soft saturation of peaks above 0.98 (loud
clips), then the 16 kHz mono mp3 (~32 kbps).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
from scipy import signal

# The corpus is written in MTAT's own format; the short names are this module's API.
from mtlib.constants import MTAT_CLIP_SAMPLES as CLIP_SAMPLES
from mtlib.constants import MTAT_SAMPLE_RATE as SAMPLE_RATE
from mtlib.errors import DataError
from mtlib.io import atomic_path

RENDER_RATE = 16_000  # Hz; a multiple of SAMPLE_RATE (rendered, then decimated)
MAX_VOICES = 64  # caps the cost of long release tails; our textures use far fewer
DRUM_CHANNEL = 9  # GM channel 10


def soundfont_path() -> Path:
    """The General MIDI SoundFont bundled with pretty_midi (TimGM6mb.sf2, 6 MB)."""
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise DataError(f"{path}: SoundFont missing; expected the one shipped in the "
                        "pretty_midi wheel (pip install pretty_midi)")
    return path


@functools.lru_cache(maxsize=1)
def _soundfont_bytes() -> bytes:
    return soundfont_path().read_bytes()


def _tsf():
    try:
        from tinysoundfont import _tinysoundfont
    except ImportError as err:
        raise DataError(
            "tinysoundfont is not installed; install it with "
            "`pip install --no-deps tinysoundfont==0.3.7` (its pyaudio requirement is only "
            "for live playback)"
        ) from err
    return _tinysoundfont


class Renderer:
    """Holds one loaded SoundFont; :meth:`render` turns a PrettyMIDI into float32 audio."""

    def __init__(self) -> None:
        tsf = _tsf()
        self._tsf = tsf
        self._font = tsf.SoundFont(_soundfont_bytes())

    def render(self, pm: pretty_midi.PrettyMIDI, n_samples: int = CLIP_SAMPLES) -> np.ndarray:
        """float32 [n_samples] at SAMPLE_RATE: the mono mix of every instrument of ``pm``."""
        tsf = self._tsf
        # A fresh clone per clip (sample data shared): reset() only fades voices out, so a
        # reused synth would leak the previous clip's tail and break determinism.
        font = tsf.SoundFont(self._font)
        font.set_output(tsf.OutputMode.Mono, RENDER_RATE, 0.0)
        font.set_max_voices(MAX_VOICES)
        events = []  # (sample, order, channel, key, velocity): note-offs sort before note-ons
        channel = 0
        for inst in pm.instruments:
            if inst.is_drum:
                ch = DRUM_CHANNEL
            else:
                if channel == DRUM_CHANNEL:
                    channel += 1
                if channel > 15:
                    raise DataError("arrangement needs more than 15 melodic MIDI channels")
                ch, channel = channel, channel + 1
            font.channel_set_preset_number(ch, inst.program, bool(inst.is_drum))
            volume = next((c.value for c in inst.control_changes if c.number == 7), 127)
            font.channel_set_volume(ch, volume / 127.0)
            for note in inst.notes:
                events.append((int(round(note.start * RENDER_RATE)), 1, ch, note.pitch,
                               note.velocity))
                events.append((int(round(note.end * RENDER_RATE)), 0, ch, note.pitch, 0))
        events.sort()
        factor = RENDER_RATE // SAMPLE_RATE
        n_render = factor * n_samples
        buf = np.zeros(n_render, dtype=np.float32)
        view = memoryview(buf).cast("B")
        pos = 0
        for sample, is_on, ch, key, velocity in events:
            sample = min(sample, n_render)
            if sample > pos:
                font.render(view[4 * pos: 4 * sample], False)
                pos = sample
            if is_on:
                font.channel_note_on(ch, key, velocity / 127.0)
            else:
                font.channel_note_off(ch, key)
        if pos < n_render:
            font.render(view[4 * pos:], False)
        if factor == 1:
            return buf
        return signal.resample_poly(buf, 1, factor).astype(np.float32)[:n_samples]


# Paul Kellet's economy pink-noise filter (1/f within ~1 dB above 10 Hz at 16 kHz).
_PINK_B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
_PINK_A = (1.0, -2.494956002, 2.017265875, -0.522189400)


def _coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise [n]: white, pink (1/f) or brown (1/f^2, leaky integrator).

    IIR filters rather than FFT shaping: 465,984 = 2^6 * 3^2 * 809 is a slow FFT length.
    """
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    if colour == "pink":
        noise = signal.lfilter(_PINK_B, _PINK_A, white)
    else:
        noise = signal.lfilter([1.0], [1.0, -0.995], white)
    return noise / (np.std(noise) + 1e-12)


def degrade(audio: np.ndarray, recipe: dict, rng: np.random.Generator) -> np.ndarray:
    """float32 [n] at SAMPLE_RATE: level, noise at ``snr_db``, low-pass at ``lowpass_hz``."""
    x = audio.astype(np.float64)
    rms = float(np.sqrt(np.mean(x ** 2)))
    if rms < 1e-7:  # a silent excerpt stays silent apart from the noise floor
        rms, x = 1.0, np.zeros_like(x)
    target = 10 ** (float(recipe["level_dbfs"]) / 20)
    x *= target / rms
    noise = _coloured_noise(len(x), recipe["noise"], rng)
    x += noise * target * 10 ** (-float(recipe["snr_db"]) / 20)
    sos = signal.butter(8, float(recipe["lowpass_hz"]), fs=SAMPLE_RATE, output="sos")
    x = signal.sosfilt(sos, x)
    if float(np.max(np.abs(x))) > 0.98:
        # Soft saturation, like a mastering limiter: loud stays loud, no hard clipping.
        x = 0.98 * np.tanh(x / 0.98)
    return x.astype(np.float32)


def write_mp3(path: Path, audio: np.ndarray) -> None:
    """Write 16 kHz mono mp3 (libsndfile's LAME, ~32 kbps VBR) via a temp file + rename."""
    with atomic_path(path, suffix=".mp3") as tmp:
        sf.write(tmp, audio, SAMPLE_RATE, format="MP3")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
