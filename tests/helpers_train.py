"""A learnable prepared cache for training tests, written directly in the on-disk format.

Each tag owns a frequency band: a clip has the tag exactly when a loud sinusoid of that band
(random frequency within the band, random phase) is mixed into its background noise. The
tags are therefore learnable from raw audio in a few epochs, so validation AUC must rise
well above chance. Clips are short (``clip_samples`` is a property of the cache), so tests
stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mtlib import paths
from mtlib.data.cache import COMPLETE_MARKER, FORMAT_VERSION, INDEX_COLUMNS, ClipCache

FOLDERS = "0123456789abcdef"  # 0-b train, c valid, d-f test (the "dieleman" split)
BANDS_HZ = ((250, 350), (700, 900), (1600, 2000), (3200, 4000))  # one per tag
TAGS = ("low", "mid", "high", "top")


def write_learnable_cache(
    dataset: str = "learnable",
    sample_rate: int = 12000,
    clip_samples: int = 25_600,
    clips_per_folder: int = 12,
    seed: int = 0,
    p_tag: float = 0.4,
    silent_rows: int = 0,
) -> ClipCache:
    """Write ``paths.prepared_dir(dataset, sample_rate)`` and return it opened.

    16 folders x ``clips_per_folder`` clips (status ok), labels uint8 [n, 4] for
    :data:`TAGS`. ``silent_rows`` extra rows with status "empty" (all-zero audio) follow.
    Rewrites nothing when the folder is already complete.
    """
    out = paths.prepared_dir(dataset, sample_rate)
    if (out / COMPLETE_MARKER).is_file():
        return ClipCache.open(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_ok = len(FOLDERS) * clips_per_folder
    n = n_ok + silent_rows
    t = np.arange(clip_samples) / sample_rate
    audio = np.lib.format.open_memmap(out / "audio.npy", "w+", np.int16, (n, clip_samples))
    labels = np.zeros((n, len(TAGS)), np.uint8)
    rows = []
    for i in range(n_ok):
        folder = FOLDERS[i // clips_per_folder]
        x = 0.05 * rng.standard_normal(clip_samples)
        for j, (lo, hi) in enumerate(BANDS_HZ):
            if rng.random() < p_tag:
                labels[i, j] = 1
                f = rng.uniform(lo, hi)
                x += rng.uniform(0.15, 0.25) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
        audio[i] = np.clip(np.round(x * 32768 * 0.5), -32768, 32767).astype(np.int16)
        mp3 = f"{folder}/artist_{i}-album-01-track-0-29.mp3"
        split = "train" if folder < "c" else ("valid" if folder == "c" else "test")
        rows.append((i, 1000 + i, mp3, split, "ok", int(labels[i].sum())))
    for k in range(silent_rows):
        i = n_ok + k
        rows.append((i, 1000 + i, f"0/silent_{k}-album-01-track-0-29.mp3", "train", "empty", 0))
    audio.flush()
    del audio
    np.save(out / "labels.npy", labels)
    pd.DataFrame(rows, columns=INDEX_COLUMNS).to_csv(out / "index.csv", index=False)
    pd.DataFrame(columns=["clip_id", "mp3_path", "reason"]).to_csv(
        out / "skipped.csv", index=False
    )
    meta = {
        "format_version": FORMAT_VERSION, "dataset": dataset, "source_root": "synthetic",
        "sample_rate": sample_rate, "clip_samples": clip_samples,
        "clip_seconds": clip_samples / sample_rate, "tags": list(TAGS), "n_clips": n,
        "n_ok": n_ok, "mtlib_version": "test",
    }
    (out / "meta.json").write_text(json.dumps(meta))
    (out / COMPLETE_MARKER).write_text("complete\n")
    return ClipCache.open(out)


def dataset_dir(dataset: str, sample_rate: int) -> Path:
    return paths.prepared_dir(dataset, sample_rate)


def one_torch_thread():
    """Generator body for an autouse fixture: run a test with one torch CPU thread.

    The tests' models are tiny; on a CPU shared with other jobs, two OpenMP threads stall at
    their barriers whenever one is descheduled, which makes tiny steps 10-100x slower.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
