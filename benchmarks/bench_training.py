"""Training throughput of the three model families on this machine, against its matmul peak.

For each model a full training step (forward, per-subclip BCE, backward, SGD momentum step)
runs on synthetic input of the real shapes, no data loading:

- Dieleman CNN, L = S = 256 and L = S = 128 (the slowest Table I pair): batches of 10 clips
  = 100 subclips of 34,950 samples (2.9 s at 12 kHz). Figure: subclips/s.
- SampleCNN 3^9 (batch norm): batches of 16 segments of 59,049 samples. Figure: segments/s.

Also measured:

- ``*.eval_units_per_s``: forward only in eval mode (how validation runs).
- FLOPs of one step, counted by ``torch.utils.flop_counter.FlopCounterMode`` (convolutions
  and matmuls, forward + backward), so ``achieved_gflops = flops x steps / seconds`` and
  ``fraction_of_peak`` = that / the measured peak.
- Peak: a large square matmul timed in the same run: fp32 on CPU; on CUDA fp32 (TF32 off) and
  bf16 (used as the reference for the ``amp`` variants).
- ``*.loading_units_per_s``: batches cut by :mod:`mtlib.data.datasets` (SubclipDataset /
  SegmentDataset crops, clip-scope min-max normalisation) from an int16 memmap in the page
  cache, onto the same device; ``loading_ratio`` = loading rate / training rate (target >= 10).
- ``epoch_estimate_s``: one epoch of 750 training clips (Dieleman at 12 kHz, SampleCNN at
  16 kHz: one crop per clip), plus validation of 62 clips and the train-AUC subset of 200
  clips at the eval rate (Dieleman 10 subclips per clip, SampleCNN 7 segments per clip).

Run: ``python benchmarks/bench_training.py [--device cpu|cuda] [--steps 5]``. Writes
``results/bench/training.json`` and prints a Markdown table.
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
from mtlib.data.datasets import AudioSource, InputNorm, SegmentDataset, SubclipDataset
from mtlib.models import build_model, count_parameters
from mtlib.train import clip_loss, resolve_device

N_TAGS = 50
EPOCH_TRAIN_CLIPS = 750
EPOCH_EVAL_CLIPS = 62 + 200  # validation + train-AUC subset
CASES = {
    "dieleman_256": dict(config=RunConfig(length=256, stride=256), sample_rate=12000,
                         clip_samples=349_500, batch=10),
    "dieleman_128": dict(config=RunConfig(length=128, stride=128), sample_rate=12000,
                         clip_samples=349_500, batch=10),
    "samplecnn": dict(config=RunConfig(model="samplecnn", sample_rate=16000),
                      sample_rate=16000, clip_samples=466_000, batch=16),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls (after ``warmup`` untimed calls)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_peak(device: torch.device, dtype: torch.dtype) -> float:
    """FLOP/s of a large square matmul (n = 2048 on CPU, 8192 on CUDA)."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    repeats = 10 if device.type == "cuda" else 5
    seconds = _timed(lambda: a @ b, device, repeats, warmup=2)
    return 2 * n**3 / seconds


def _inputs(case: dict, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, int]:
    g = torch.Generator().manual_seed(0)
    batch = case["batch"]
    if case["config"].model == "dieleman":
        x = torch.randn(batch, 10, 1, case["clip_samples"] // 10, generator=g) * 0.1
        units = batch * 10
    else:
        x = torch.randn(batch, 1, 1, 59_049, generator=g) * 0.1
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


def loading_rate(case: dict, device: torch.device, batches: int = 20) -> float:
    """Units/s that the dataset views cut from a page-cached int16 memmap onto ``device``."""
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
            view = SegmentDataset(src, labels, np.arange(n_clips), norm, train=True)
        rng = np.random.default_rng(1)
        picks = [rng.choice(n_clips, case["batch"], replace=False) for _ in range(batches + 2)]
        it = iter(picks)
        seconds = _timed(lambda: view.batch(next(it), epoch=1), device, batches, warmup=2)
    return case["batch"] * view_units(case, train=True) / seconds


def view_units(case: dict, train: bool) -> int:
    if case["config"].model == "dieleman":
        return 10
    return 1 if train else case["clip_samples"] // 59_049


def bench_case(name: str, case: dict, device: torch.device, steps: int, amp: bool,
               peak: float) -> dict[str, Any]:
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
    seconds = _timed(train_step, device, steps, warmup=2)
    train_rate = units / seconds

    model.eval()
    xe = x[: max(1, len(x) // 2)]
    eval_units = units * len(xe) // len(x)
    e_flops = eval_flops(model, xe)

    def eval_step() -> None:
        with torch.no_grad(), autocast:
            model(xe)

    e_seconds = _timed(eval_step, device, steps, warmup=1)
    eval_rate = eval_units / e_seconds
    load = loading_rate(case, device)
    train_units = EPOCH_TRAIN_CLIPS * view_units(case, train=True)
    eval_units_epoch = EPOCH_EVAL_CLIPS * view_units(case, train=False)
    unit = "subclips" if case["config"].model == "dieleman" else "segments"
    return {
        "unit": unit,
        "params": count_parameters(model),
        "batch_units": units,
        "amp_bf16": amp,
        "train_units_per_s": train_rate,
        "eval_units_per_s": eval_rate,
        "step_gflop": flops / 1e9,
        "achieved_gflops": flops / seconds / 1e9,
        "eval_achieved_gflops": e_flops / e_seconds / 1e9,
        "fraction_of_peak": flops / seconds / peak,
        "loading_units_per_s": load,
        "loading_ratio": load / train_rate,
        "epoch_estimate_s": train_units / train_rate + eval_units_epoch / eval_rate,
        "sample_rate": case["sample_rate"],
    }


def markdown(figures: dict[str, Any]) -> str:
    lines = [
        f"device: {figures['device']}; matmul peak "
        + ", ".join(f"{k} {v:,.0f} GFLOP/s" for k, v in figures["peak_gflops"].items()),
        "",
        "| model | amp | units/s (train) | units/s (eval) | GFLOP/step | GFLOP/s | of peak "
        "| loading x | epoch (750 clips) s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in figures["models"].items():
        lines.append(
            f"| {name} ({r['unit']}) | {'bf16' if r['amp_bf16'] else 'fp32'} "
            f"| {r['train_units_per_s']:,.1f} | {r['eval_units_per_s']:,.1f} "
            f"| {r['step_gflop']:.2f} | {r['achieved_gflops']:,.1f} "
            f"| {100 * r['fraction_of_peak']:.1f}% | {r['loading_ratio']:,.0f} "
            f"| {r['epoch_estimate_s']:,.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu | cuda (default: cuda if available)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model")
    parser.add_argument("--models", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv if argv is not None else [])
    device = resolve_device(args.device)
    steps = args.steps or (20 if device.type == "cuda" else 3)

    torch.backends.cuda.matmul.allow_tf32 = False  # "fp32" means true fp32
    torch.backends.cudnn.allow_tf32 = False
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    peaks = {"fp32": matmul_peak(device, torch.float32)}
    if device.type == "cuda":
        peaks["bf16"] = matmul_peak(device, torch.bfloat16)

    models: dict[str, Any] = {}
    for name in args.models:
        print(f"timing {name} on {device} ...", flush=True)
        models[name] = bench_case(name, CASES[name], device, steps, False, peaks["fp32"])
        if device.type == "cuda":
            models[f"{name}_bf16"] = bench_case(name, CASES[name], device, steps, True,
                                                peaks["bf16"])
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
