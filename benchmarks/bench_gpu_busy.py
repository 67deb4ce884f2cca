"""How busy the data path keeps a GPU: the share of Dieleman training time spent in GPU kernels.

On CUDA, trains the shallow CNN (32 filters, L = S = 256, batches of 10 clips = 100 subclips
of 34,950 samples at 12 kHz) with mtlib's own training loop on a prepared cache (the one of
``bench_loading.py``: copies of the real MTAT clip). One warm-up epoch, then ``--epochs``
epochs under ``torch.profiler`` (CUDA activity), once per data path:

- ``resident``: the whole working set copied to GPU memory (what ``mtlib.data.datasets`` does
  when it fits), every batch an on-device gather;
- ``host``: the int16 memmap in host memory, batches copied over by the prefetching iterator
  (pinned memory, a side stream).

Figures per path:

- ``kernel_busy_fraction``: the union of the GPU kernel intervals over the profiled window
  (target >= 0.9 for ``resident``); ``memcpy_busy_fraction``: the same for copies/memsets;
- ``subclips_per_s``: training throughput in that window (the profiler's own overhead
  included, so a lower bound).

Without CUDA the benchmark records that it was skipped: the figure needs a GPU.

Run: ``python benchmarks/bench_gpu_busy.py [--clips 200] [--epochs 2]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Iterable

WINDOW = "mtlib.bench.gpu_busy.window"  # the profiled range's annotation name


def busy_fraction(intervals: Iterable[tuple[float, float]], start: float, end: float) -> float:
    """Share of ``[start, end]`` covered by the union of ``intervals`` (any one time unit).

    Intervals are clipped to the window and overlapping ones count once (kernels on several
    streams run at the same time).
    """
    if end <= start:
        return 0.0
    covered = 0.0
    run_start = run_end = None
    for s, e in sorted((max(s, start), min(e, end)) for s, e in intervals):
        if e <= s:
            continue
        if run_end is None or s > run_end:
            if run_end is not None:
                covered += run_end - run_start
            run_start, run_end = s, e
        else:
            run_end = max(run_end, e)
    if run_end is not None:
        covered += run_end - run_start
    return covered / (end - start)


def device_intervals(events: Iterable[Any]) -> tuple[tuple[float, float] | None, list, list]:
    """(window, kernels, copies) from raw profiler events, as ``(start_ns, end_ns)`` pairs.

    ``events`` are ``torch.profiler`` kineto events (``name()``, ``device_type()``,
    ``start_ns()``, ``end_ns()``); the window is the :data:`WINDOW` annotation.
    """
    from torch.autograd import DeviceType

    window, kernels, copies = None, [], []
    for e in events:
        span = (float(e.start_ns()), float(e.end_ns()))
        if e.name() == WINDOW:
            window = span
        elif e.device_type() == DeviceType.CUDA:
            name = e.name().lower()
            (copies if "memcpy" in name or "memset" in name else kernels).append(span)
    return window, kernels, copies


def profile_path(dataset: str, cache, resident: bool, epochs: int,
                 device: str = "cuda") -> dict[str, Any]:
    """Warm-up epoch, then ``epochs`` profiled training epochs on one data path.

    ``device="cpu"`` runs the same steps without CUDA activity (the tests use it; it finds
    no GPU kernels and says so).
    """
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from mtlib.config import RunConfig
    from mtlib.data import datasets
    from mtlib.training.fit import _determinism, _Trainer

    device = torch.device(device)
    cuda = device.type == "cuda"
    config = RunConfig(dataset=dataset, input_norm="standardise", epochs=epochs + 1)
    # On CUDA the resident path is mtlib's own choice (resident when the working set fits).
    views = datasets.build_views(cache, config, device,
                                 resident=None if cuda and resident else resident)
    if views.source.resident != resident:
        return {"skipped": "the working set does not fit in half the free GPU memory"}

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    # The training part of mtlib.training.fit.fit's loop (its epochs also validate and checkpoint).
    with _determinism(device):
        trainer = _Trainer(config, views, device)
        trainer.train_epoch(progress=False)
        sync()
        with profile(activities=activities) as prof:
            with record_function(WINDOW):
                start = time.perf_counter()
                for _ in range(epochs):
                    trainer.train_epoch(progress=False)
                sync()
                seconds = time.perf_counter() - start
    window, kernels, copies = device_intervals(prof.profiler.kineto_results.events())
    if window is None or not kernels:
        return {"skipped": "the profiler recorded no GPU kernels"}
    units = epochs * len(views.train) * 10
    return {
        "kernel_busy_fraction": round(busy_fraction(kernels, *window), 3),
        "memcpy_busy_fraction": round(busy_fraction(copies, *window), 3),
        "subclips_per_s": round(units / seconds, 1),
        "epochs": epochs,
        "train_clips": len(views.train),
    }


def main(clips: int = 200, epochs: int = 2) -> dict:
    import torch
    from bench_loading import build_cache
    from run_all import write_result

    if not torch.cuda.is_available():
        figures: dict[str, Any] = {"skipped": "no CUDA device: this figure needs a GPU"}
        print(f"GPU busy: {figures['skipped']}")
        write_result("gpu_busy", figures)
        return figures
    cache, _ = build_cache(clips)
    dataset = f"bench-loading-{clips}"  # the cache's name (bench_loading.build_cache)
    figures = {
        "target_kernel_busy_fraction": 0.9,
        "resident": profile_path(dataset, cache, resident=True, epochs=epochs),
        "host": profile_path(dataset, cache, resident=False, epochs=epochs),
    }
    out = write_result("gpu_busy", figures)
    for path in ("resident", "host"):
        r = figures[path]
        if "skipped" in r:
            print(f"GPU busy, {path} cache: skipped ({r['skipped']})")
        else:
            print(f"GPU busy, {path} cache: {100 * r['kernel_busy_fraction']:.1f}% of the time "
                  f"in kernels, {100 * r['memcpy_busy_fraction']:.1f}% in copies, "
                  f"{r['subclips_per_s']:.0f} subclips/s")
    print(f"-> {out}")
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200, help="clips in the benchmark cache")
    parser.add_argument("--epochs", type=int, default=2, help="profiled epochs per data path")
    args = parser.parse_args()
    main(args.clips, args.epochs)
