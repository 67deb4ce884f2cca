"""The stand-in corpus's tag vocabulary and its target tag frequencies (from real MTAT).

The vocabulary is the part of MTAT's top-50 that General MIDI rendering carries credibly:
instruments GM has a program for, genres a GM arrangement can imitate, and tempo/dynamics
attributes. Voice-quality tags (male, female, opera, singing, ...) and "weird" are left out:
GM's "aahs/oohs" cannot carry them. All names are MTAT's exact tag strings.
"""

from __future__ import annotations

import functools

import numpy as np

from mtlib.data import metadata
from mtlib.errors import DataError

INSTRUMENT_TAGS: tuple[str, ...] = (
    "guitar", "piano", "harpsichord", "strings", "violin", "cello", "harp", "flute", "sitar",
    "synth", "drums", "choir", "vocal",
)
GENRE_TAGS: tuple[str, ...] = (
    "classical", "rock", "metal", "techno", "electronic", "dance", "pop", "country", "indian",
    "ambient", "new age",
)
ATTRIBUTE_TAGS: tuple[str, ...] = ("fast", "slow", "loud", "quiet", "soft", "solo", "beat")

# In MTAT's standard top-50 order (split/tags.npy), so tables line up with the real data.
VOCABULARY: tuple[str, ...] = tuple(
    t for t in metadata.standard_tags() if t in {*INSTRUMENT_TAGS, *GENRE_TAGS, *ATTRIBUTE_TAGS}
)
TAG_INDEX: dict[str, int] = {t: i for i, t in enumerate(VOCABULARY)}

if len(VOCABULARY) != len(INSTRUMENT_TAGS) + len(GENRE_TAGS) + len(ATTRIBUTE_TAGS):
    raise DataError("stand-in vocabulary: every tag must be one of MTAT's standard top-50 tags")


@functools.lru_cache(maxsize=None)
def _target_table() -> tuple[tuple[str, int], ...]:
    counts = metadata.top50_tag_counts().set_index("tag")["all_25860"]
    return tuple((t, int(counts[t])) for t in VOCABULARY)


def target_marginals() -> dict[str, float]:
    """Target fraction of clips annotated with each tag: MTAT count / 25,860."""
    with_audio = metadata.N_ANNOTATION_ROWS - len(metadata.EMPTY_MP3_CLIP_IDS)  # 25,860
    return {t: c / with_audio for t, c in _target_table()}


def label_vector(tags: set[str] | list[str] | tuple[str, ...]) -> np.ndarray:
    """0/1 uint8 [len(VOCABULARY)] in VOCABULARY order; DataError on an unknown tag."""
    vec = np.zeros(len(VOCABULARY), dtype=np.uint8)
    for t in tags:
        if t not in TAG_INDEX:
            raise DataError(f"unknown stand-in tag {t!r}; valid: {', '.join(VOCABULARY)}")
        vec[TAG_INDEX[t]] = 1
    return vec
