"""Reading Dieleman batches from the prepared cache against how fast the shallow CNN eats them.

A Dieleman training step takes 10 clips of 349,500 samples (12 kHz, 29.125 s), cut into
100 subclips: float32 [100, 1, 34950]. The cache must deliver such batches far faster than
the model consumes them on the same CPU, so data loading never limits training.

- ``prepare_clips_per_s``: ``prepare_mtat`` building the benchmark cache (once) from copies of
  the real MTAT clip in tests/data (16 kHz mp3 -> 12 kHz int16), all cores.
- ``load_batches_per_s_warm``: random batches of 10 clips read with ``ClipCache.load_float``,
  reshaped to [100, 1, 34950] torch tensors, file in the page cache.
- ``load_batches_per_s_cold``: the same after evicting audio.npy from the page cache
  (``posix_fadvise(DONTNEED)``) before every batch, i.e. every byte read from disk.
- ``consume_batches_per_s``: forward + backward + SGD step of the Dieleman CNN (32 filters,
  L = S = 256, conv 8, pool 4, conv 8, pool 4, dense 100, dense 50) on one batch.
- ``load_batches_per_s_warm_new_array``: warm, but a new output array per batch.
- ``ratio_cold`` / ``ratio_warm``: loading rate / consumption rate (target >= 10).

Rounds of loading and consumption alternate and figures are medians, so load from other
processes on a shared machine affects both sides alike.

Run: ``python benchmarks/bench_loading.py [--clips 200] [--batches 50] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from mtlib import paths
from mtlib.config import RunConfig
from mtlib.constants import N_SUBCLIPS, N_TAGS

SAMPLE_RATE = RunConfig().sample_rate  # Hz, the Dieleman model's default (12 kHz)
BATCH_CLIPS = 10
REAL_CLIP = paths.repo_root() / "tests" / "data" / "joram-moments_of_clarity-08-solipsism-59-88.mp3"


def build_cache(clips: int):
    """A prepared cache of ``clips`` copies of the real MTAT clip (built once, then reused)."""
    from mtlib.data import metadata
    from mtlib.data.cache import ClipCache
    from mtlib.data.mtat import AnnotationsBlobWarning
    from mtlib.data.prepare import prepare_mtat

    root = paths.corpus_dir(f"bench-loading-{clips}")
    if not (root / "annotations_final.csv").is_file():
        lines = ["\t".join(f'"{c}"' for c in ["clip_id", *metadata.TAGS188, "mp3_path"])]
        techno = metadata.TAGS188.index("techno")
        for i in range(clips):
            mp3 = f"{'0123456789abcdef'[i % 16]}/bench-copy-{i:05d}-0-29.mp3"
            (root / mp3).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REAL_CLIP, root / mp3)
            tags = ["1" if j == techno or j == i % 188 else "0" for j in range(188)]
            lines.append("\t".join(f'"{c}"' for c in [i + 1, *tags, mp3]))
        (root / "annotations_final.csv").write_text("\n".join(lines) + "\n")
    out = paths.prepared_dir(f"bench-loading-{clips}", SAMPLE_RATE)
    prepared_before = (out / "COMPLETE").is_file()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationsBlobWarning)
        prepare_mtat(root, SAMPLE_RATE, dataset=f"bench-loading-{clips}", progress=False)
    seconds = time.perf_counter() - start
    rate = None if prepared_before else clips / seconds
    return ClipCache.open(out), rate


def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def time_loading(cache, batches: int, cold: bool, reuse: bool = True, seed: int = 0) -> float:
    """Batches/s of float32 [100, 1, clip_samples / 10] tensors of 10 random clips.

    ``reuse``: fill one preallocated batch buffer (what a loader does) instead of a new array.
    ``cold``: evict audio.npy from the page cache before each batch (not timed).
    """
    import torch

    rng = np.random.default_rng(seed)
    rows = cache.split_rows("dieleman", "train")
    sub = cache.clip_samples // N_SUBCLIPS
    buffer = np.empty((BATCH_CLIPS, cache.clip_samples), dtype=np.float32) if reuse else None
    elapsed = 0.0
    for _ in range(batches):
        batch_rows = np.sort(rng.choice(rows, BATCH_CLIPS, replace=False))
        if cold and hasattr(os, "posix_fadvise"):
            _evict(cache.path / "audio.npy")
        start = time.perf_counter()
        x = cache.load_float(batch_rows, out=buffer)[:, : sub * N_SUBCLIPS]
        batch = torch.from_numpy(x).reshape(BATCH_CLIPS * N_SUBCLIPS, 1, sub)
        elapsed += time.perf_counter() - start
        assert batch.shape == (100, 1, sub)
    return batches / elapsed


def dieleman_model(clip_samples: int):
    """The project's Dieleman CNN if present, else the same layer shapes built here."""
    import torch
    from torch import nn

    try:
        from mtlib.models import build_model

        return build_model(RunConfig(model="dieleman"), N_TAGS, clip_samples), "mtlib.models"
    except ImportError:
        sub = clip_samples // N_SUBCLIPS
        frames = (sub - 256) // 256 + 1
        t = math.ceil(math.ceil(frames / 4) / 4)  # same-padded convs, ceil-mode pools
        model = nn.Sequential(
            nn.Conv1d(1, 32, 256, stride=256), nn.ReLU(),
            nn.ConstantPad1d((3, 4), 0.0), nn.Conv1d(32, 32, 8), nn.ReLU(),
            nn.MaxPool1d(4, ceil_mode=True),
            nn.ConstantPad1d((3, 4), 0.0), nn.Conv1d(32, 32, 8), nn.ReLU(),
            nn.MaxPool1d(4, ceil_mode=True),
            nn.Flatten(), nn.Linear(32 * t, 100), nn.ReLU(), nn.Linear(100, N_TAGS),
        )
        torch.manual_seed(0)
        return model, "benchmark copy"


def time_consumption(clip_samples: int, steps: int, rounds: int) -> tuple[list[float], str]:
    """Training steps/s (forward + backward + SGD) on a [100, 1, clip_samples/10] batch,
    one figure per round."""
    import torch

    model, source = dieleman_model(clip_samples)
    sub = clip_samples // N_SUBCLIPS
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH_CLIPS * N_SUBCLIPS, 1, sub, generator=gen) * 0.1
    y = (torch.rand(BATCH_CLIPS * N_SUBCLIPS, N_TAGS, generator=gen) < 0.1).float()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x).reshape(-1, N_TAGS), y).backward()
        opt.step()

    for _ in range(3):  # warm-up: allocator, kernels
        step()
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - start))
    return rates, source


def main(clips: int = 200, batches: int = 50, steps: int = 20, rounds: int = 5) -> dict:
    """Interleaved rounds (the machine is shared): medians of loading and consumption rates."""
    import torch
    from run_all import write_result

    cache, prepare_rate = build_cache(clips)
    modes = {"warm": dict(cold=False), "cold": dict(cold=True),
             "warm_new_array": dict(cold=False, reuse=False)}
    for start in range(0, cache.n_clips, BATCH_CLIPS):  # map every page once: "warm" = cached
        cache.load_float(np.arange(start, min(start + BATCH_CLIPS, cache.n_clips)))
    load = {m: [] for m in modes}
    consume: list[float] = []
    names = list(modes)
    for r in range(rounds):
        for m in names[r % len(names):] + names[: r % len(names)]:  # rotate: no order bias
            load[m].append(time_loading(cache, batches, seed=r, **modes[m]))
        rates, model_source = time_consumption(cache.clip_samples, steps, 1)
        consume.extend(rates)
    med = {m: statistics.median(v) for m, v in load.items()}
    use = statistics.median(consume)
    figures = {
        "clips": clips,
        "clip_samples": cache.clip_samples,
        "batch_shape": [BATCH_CLIPS * N_SUBCLIPS, 1, cache.clip_samples // N_SUBCLIPS],
        "prepare_clips_per_s": None if prepare_rate is None else round(prepare_rate, 1),
        "load_batches_per_s_warm": round(med["warm"], 1),
        "load_batches_per_s_cold": round(med["cold"], 1),
        "load_batches_per_s_warm_new_array": round(med["warm_new_array"], 1),
        "consume_batches_per_s": round(use, 2),
        "consume_model": model_source,
        "ratio_warm": round(med["warm"] / use, 1),
        "ratio_cold": round(med["cold"] / use, 1),
        "ratio_target": 10.0,
        "rounds": rounds,
        "torch_threads": torch.get_num_threads(),
    }
    out = write_result("loading", figures)
    prep = "reused" if prepare_rate is None else f"{prepare_rate:.1f} clips/s"
    print(f"cache of {clips} real-MTAT clips at {SAMPLE_RATE} Hz (prepare: {prep})")
    print(f"loading [100, 1, {cache.clip_samples // N_SUBCLIPS}] float32 batches: "
          f"{med['warm']:.0f}/s warm, {med['cold']:.0f}/s cold (page cache evicted), "
          f"{med['warm_new_array']:.0f}/s warm into a new array")
    print(f"Dieleman CNN train step (forward+backward+SGD, {model_source}): {use:.1f}/s")
    print(f"loading / consumption: {figures['ratio_warm']}x warm, {figures['ratio_cold']}x cold "
          f"(target >= 10x) -> {out}")
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips in the benchmark cache")
    parser.add_argument("--batches", type=int, default=50, help="timed batches per mode/round")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    args = parser.parse_args()
    main(args.clips, args.batches, args.steps, args.rounds)
