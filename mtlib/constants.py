"""Numbers that several layers share, in a module that imports nothing.

Each constant here is needed on both sides of an import boundary that must stay one-way or
light: the data views (:mod:`mtlib.data.datasets`) cut clips into the units the models
(:mod:`mtlib.models`) take, without importing model code; the synthetic corpus writer and its
learnability baseline (:mod:`mtlib.standin`, whose worker processes import little) write and
read MTAT's audio format; benchmarks import these without torch or pandas. Constants that
only one module needs stay in that module (e.g. ``CLIP_SECONDS`` in
:mod:`mtlib.data.prepare`, ``SPLITS`` in :mod:`mtlib.config`).
"""

from __future__ import annotations

# --- MagnaTagATune -------------------------------------------------------------------------
PARTS: tuple[str, ...] = ("train", "valid", "test")  # the parts of every split
N_TAGS = 50  # the standard MTAT top-50 tag set: the label space of every model
MTAT_SAMPLE_RATE = 16_000  # Hz, MTAT's mp3s
MTAT_CLIP_SAMPLES = 465_984  # samples of a real MTAT clip at 16 kHz (29.124 s)

# --- model input units ---------------------------------------------------------------------
N_SUBCLIPS = 10  # Dieleman: a clip is cut into 10 subclips of clip_samples // 10 samples
SEGMENT_SAMPLES = 3**10  # SampleCNN's input: 59,049 samples (3.69 s at 16 kHz)
