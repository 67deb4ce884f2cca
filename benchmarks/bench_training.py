"""Training throughput of the three model families on this machine, against its matmul peak.

For each model a full training step (forward, per-subclip BCE, backward, SGD momentum step)
runs on synthetic input of the real shapes, no data loading:

- Dieleman CNN, L = S = 256 and L = S = 128 (the slowest Table I pair): batches of 10 clips
  = 100 subclips of 34,950 samples (2.9 s at 12 kHz). Figure: subclips/s.
- SampleCNN 3^9 (batch norm): batches of 16 segments of 59,049 samples. Figure: segments/s.

Figures per model (under ``best`` and ``median``, see below):

- ``train_units_per_s``: training throughput; ``eval_units_per_s``: forward only in eval
  mode under ``no_grad`` (how validation runs).
- ``achieved_gflops`` and ``fraction_of_peak``: FLOPs of one step counted by
  ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matmuls, forward +
  backward) divided by the step time, and that over the machine's measured peak: a large
  square matmul timed in the same run (fp32 on CPU; on CUDA fp32 with TF32 off, and bf16 as
  the reference for the bf16-autocast variants), measured before and after the models, the
  faster kept.
- ``loading_units_per_s``: batches cut by :mod:`mtlib.data.datasets` (SubclipDataset /
  SegmentDataset crops, clip-scope min-max normalisation) from an int16 memmap in the page
  cache onto the same device; ``loading_ratio`` = loading rate / training rate (target >= 10).
- ``epoch_estimate_s``: one epoch of 750 training clips (Dieleman at 12 kHz; SampleCNN at
  16 kHz, one crop per clip) plus scoring 62 validation clips and the 200-clip train-AUC
  subset at the eval rate (Dieleman 10 subclips per clip, SampleCNN 7 segments per clip).

``best`` uses the fastest timed call, ``median`` the median one: on a shared machine the best
is the closer estimate of the uncontended cost, the median of what a run will see.

On a CPU shared with other jobs, two OpenMP threads on two cores stall at their barriers
whenever one is descheduled (single calls take 100x longer); ``--threads 1`` measures one
core without that effect.

Run: ``python benchmarks/bench_training.py [--device cpu|cuda] [--threads N] [--budget 5]``.
Writes ``results/bench/training.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from mtlib.config import RunConfig
from mtlib.constants import N_SUBCLIPS, N_TAGS, SEGMENT_SAMPLES
from mtlib.data.datasets import AudioSource, InputNorm, SegmentDataset, SubclipDataset
from mtlib.data.prepare import clip_samples_for
from mtlib.models import build_model, count_parameters
from mtlib.training.fit import clip_loss, resolve_device

EPOCH_TRAIN_CLIPS = 750
EPOCH_EVAL_CLIPS = 62 + 200  # validation + train-AUC subset


def _case(config: RunConfig, batch: int) -> dict:
    """A benchmark case: ``batch`` clips of the cache length at ``config.sample_rate``."""
    return dict(config=config, clip_samples=clip_samples_for(config.sample_rate), batch=batch)


CASES = {  # clips: 349,500 samples at 12 kHz, 466,000 at 16 kHz
    "dieleman_256": _case(RunConfig(length=256, stride=256), batch=10),
    "dieleman_128": _case(RunConfig(length=128, stride=128), batch=10),
    "samplecnn": _case(RunConfig(model="samplecnn", sample_rate=16000), batch=16),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int = 1,
           budget_s: float = 0.0) -> tuple[float, float]:
    """(median, minimum) seconds of ``fn`` over at least ``repeats`` calls, continuing until
    ``budget_s`` seconds of timed calls (after ``warmup`` untimed calls). On a shared machine
    the minimum is the better estimate of the uncontended cost."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times: list[float] = []
    while len(times) < repeats or sum(times) < budget_s:
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(np.min(times))


def matmul_peak(device: torch.device, dtype: torch.dtype) -> float:
    """FLOP/s of a large square matmul (n = 2048 on CPU, 8192 on CUDA)."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    repeats = 10 if device.type == "cuda" else 5
    _, best = _timed(lambda: a @ b, device, repeats, warmup=2, budget_s=2.0)
    return 2 * n**3 / best  # the peak: the fastest run


def _inputs(case: dict, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, int]:
    g = torch.Generator().manual_seed(0)
    batch = case["batch"]
    if case["config"].model == "dieleman":
        sub = case["clip_samples"] // N_SUBCLIPS
        x = torch.randn(batch, N_SUBCLIPS, 1, sub, generator=g) * 0.1
        units = batch * N_SUBCLIPS
    else:
        x = torch.randn(batch, 1, 1, SEGMENT_SAMPLES, generator=g) * 0.1
        units = batch
    y = (torch.rand(batch, N_TAGS, generator=g) < 0.1).float()
    return x.to(device), y.to(device), units


def step_flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        clip_loss(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def eval_flops(model: nn.Module, x: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return int(counter.get_total_flops())


def loading_rate(case: dict, device: torch.device, budget_s: float) -> tuple[float, float]:
    """(median, best) units/s that the dataset views cut from a page-cached int16 memmap."""
    n_clips, clip = 48, case["clip_samples"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audio.npy"
        audio = np.lib.format.open_memmap(path, "w+", np.int16, (n_clips, clip))
        audio[:] = np.random.default_rng(0).integers(-8000, 8000, (n_clips, clip), dtype=np.int16)
        audio.flush()
        audio = np.load(path, mmap_mode="r")
        labels = np.zeros((n_clips, N_TAGS), np.uint8)
        src = AudioSource(audio, device)
        norm = InputNorm("minmax", "clip")
        if case["config"].model == "dieleman":
            view = SubclipDataset(src, labels, np.arange(n_clips), norm)
        else:
            view = SegmentDataset(src, labels, np.arange(n_clips), norm, crop=True)
        rng = np.random.default_rng(1)
        median, best = _timed(
            lambda: view.batch(rng.choice(n_clips, case["batch"], replace=False), epoch=1),
            device, 10, warmup=2, budget_s=budget_s,
        )
    units = case["batch"] * view_units(case, train=True)
    return units / median, units / best


def view_units(case: dict, train: bool) -> int:
    if case["config"].model == "dieleman":
        return N_SUBCLIPS
    return 1 if train else case["clip_samples"] // SEGMENT_SAMPLES


def bench_case(name: str, case: dict, device: torch.device, steps: int, amp: bool,
               budget_s: float) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(case["config"], N_TAGS, case["clip_samples"]).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y, units = _inputs(case, device)
    flops = step_flops(model, x, y)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)

    def train_step() -> None:
        with autocast:
            logits = model(x)
        loss = clip_loss(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    t_med, t_best = _timed(train_step, device, steps, warmup=2, budget_s=budget_s)

    model.eval()
    xe = x[: max(1, len(x) // 2)]
    eval_units = units * len(xe) // len(x)

    def eval_step() -> None:
        with torch.no_grad(), autocast:
            model(xe)

    e_med, e_best = _timed(eval_step, device, steps, warmup=1, budget_s=budget_s / 2)
    load_med, load_best = loading_rate(case, device, budget_s / 4)
    train_units = EPOCH_TRAIN_CLIPS * view_units(case, train=True)
    eval_units_epoch = EPOCH_EVAL_CLIPS * view_units(case, train=False)
    rates = {
        "median": (units / t_med, eval_units / e_med, load_med),
        "best": (units / t_best, eval_units / e_best, load_best),
    }
    out: dict[str, Any] = {
        "unit": "subclips" if case["config"].model == "dieleman" else "segments",
        "params": count_parameters(model),
        "batch_units": units,
        "amp_bf16": amp,
        "peak_kind": "bf16" if amp else "fp32",
        "step_gflop": flops / 1e9,
        "eval_gflop_per_unit": eval_flops(model, xe) / eval_units / 1e9,
    }
    for kind, (train_rate, eval_rate, load) in rates.items():
        out[kind] = {
            "train_units_per_s": train_rate,
            "eval_units_per_s": eval_rate,
            "achieved_gflops": train_rate / units * flops / 1e9,
            "loading_units_per_s": load,
            "loading_ratio": load / train_rate,
            "epoch_estimate_s": train_units / train_rate + eval_units_epoch / eval_rate,
        }
    return out


def add_peak_fractions(models: dict[str, Any], peaks: dict[str, float]) -> None:
    for r in models.values():
        for kind in ("median", "best"):
            r[kind]["fraction_of_peak"] = r[kind]["achieved_gflops"] * 1e9 / peaks[r["peak_kind"]]


def markdown(figures: dict[str, Any]) -> str:
    lines = [
        f"device: {figures['device']}; matmul peak "
        + ", ".join(f"{k} {v:,.0f} GFLOP/s" for k, v in figures["peak_gflops"].items()),
        "",
        "| model | precision | units/s train (best / median) | units/s eval (best) "
        "| GFLOP/step | GFLOP/s (best) | of peak (best / median) | loading / training "
        "| epoch of 750 clips, s (best / median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in figures["models"].items():
        b, m = r["best"], r["median"]
        lines.append(
            f"| {name} ({r['unit']}) | {r['peak_kind']} "
            f"| {b['train_units_per_s']:,.1f} / {m['train_units_per_s']:,.1f} "
            f"| {b['eval_units_per_s']:,.1f} | {r['step_gflop']:.2f} "
            f"| {b['achieved_gflops']:,.1f} "
            f"| {100 * b['fraction_of_peak']:.1f}% / {100 * m['fraction_of_peak']:.1f}% "
            f"| {b['loading_ratio']:,.0f}x "
            f"| {b['epoch_estimate_s']:,.0f} / {m['epoch_estimate_s']:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu | cuda (default: cuda if available)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--budget", type=float, default=5.0,
                        help="seconds of timed training steps per model (at least --steps)")
    parser.add_argument("--models", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv if argv is not None else [])
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = args.steps or (20 if device.type == "cuda" else 3)

    torch.backends.cuda.matmul.allow_tf32 = False  # "fp32" means true fp32
    torch.backends.cudnn.allow_tf32 = False
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    peak_dtypes = {"fp32": torch.float32}
    if device.type == "cuda":
        peak_dtypes["bf16"] = torch.bfloat16
    peaks = {k: matmul_peak(device, dt) for k, dt in peak_dtypes.items()}

    models: dict[str, Any] = {}
    for name in args.models:
        print(f"timing {name} on {device} ...", flush=True)
        models[name] = bench_case(name, CASES[name], device, steps, False, args.budget)
        if device.type == "cuda":
            models[f"{name}_bf16"] = bench_case(name, CASES[name], device, steps, True,
                                                args.budget)
    # the peak again after the models: on a shared machine keep the faster measurement
    peaks = {k: max(v, matmul_peak(device, peak_dtypes[k])) for k, v in peaks.items()}
    add_peak_fractions(models, peaks)
    figures = {
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "torch_threads": torch.get_num_threads(),
        "steps": steps,
        "peak_gflops": {k: v / 1e9 for k, v in peaks.items()},
        "models": models,
    }
    _write(figures)
    print(markdown(figures))
    return figures


def _write(figures: dict[str, Any]) -> None:
    bench_dir = str(Path(__file__).resolve().parent)
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    from run_all import write_result

    print(f"wrote {write_result('training', figures)}")


if __name__ == "__main__":
    main(sys.argv[1:])
