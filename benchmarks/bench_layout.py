"""Time maps against 1-D layers: one training step of each model, both layouts, same weights.

The models run their 1-D layers as 2-D ones on ``[N, C, 1, T]`` channels-last time maps
(:mod:`mtlib.models.layers`), and the shallow CNN's strided first layer as a product of
frames. This benchmark times a full training step (forward, clip BCE, backward, no optimiser)
of each model in that layout and in the 1-D network it stands for
(:func:`mtlib.models.layers.as_1d`, the same state dict), on synthetic input of the real
shapes:

- ``samplecnn_bf16`` (what quick trains: bf16 autocast) and ``samplecnn_fp32``: 10 segments
  of 59,049 samples, batch norm;
- ``dieleman_256_128`` (Table I's slowest pair that quick picks), ``dieleman_256_256`` and
  ``dieleman_1024_1024``: 10 clips = 100 subclips of 34,950 samples, batch norm.

The two layouts alternate over ``--rounds`` rounds; each figure is the median of the
rounds' best step times (ms), and ``speedup`` their ratio. ``max_abs_diff`` is the largest
difference of the two layouts' logits in eval mode (float32), which must be float rounding.

Run: ``python benchmarks/bench_layout.py [--threads N] [--rounds 3]``. Writes
``results/bench/layout.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from mtlib.config import RunConfig
from mtlib.constants import N_SUBCLIPS, N_TAGS, SEGMENT_SAMPLES
from mtlib.models import build_model
from mtlib.models.layers import as_1d
from mtlib.training.fit import clip_loss

SUBCLIP_SAMPLES = 34_950  # 2.9 s at 12 kHz
CASES = {
    "samplecnn_bf16": (RunConfig(model="samplecnn", amp=True), 10),
    "samplecnn_fp32": (RunConfig(model="samplecnn"), 10),
    "dieleman_256_128": (RunConfig(length=256, stride=128, norm="batch"), 10),
    "dieleman_256_256": (RunConfig(length=256, stride=256, norm="batch"), 10),
    "dieleman_1024_1024": (RunConfig(length=1024, stride=1024, norm="batch"), 10),
}


def one_d_forward(model: nn.Module) -> tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor]]:
    """The model's network with 1-D layers, and its forward: ``[B, units, 1, n]`` ->
    ``[B, units, n_tags]``."""
    ref = as_1d(model)
    ref.load_state_dict(model.state_dict())

    def forward(x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, 1, x.shape[-1])
        if hasattr(ref, "features"):  # SampleCNN
            out = ref.head(ref.features(flat).squeeze(-1))
        else:
            out = ref.head(ref.hidden(ref.conv(ref.frontend(flat))))
        return out.reshape(*x.shape[:2], -1)

    return ref, forward


def _inputs(config: RunConfig, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    units, n = (N_SUBCLIPS, SUBCLIP_SAMPLES) if config.model == "dieleman" else (1,
                                                                               SEGMENT_SAMPLES)
    x = torch.randn(batch, units, 1, n, generator=g) * 0.1
    y = (torch.rand(batch, N_TAGS, generator=g) < 0.1).float()
    return x, y


def _step(forward: Callable, params: list[nn.Parameter], x, y, amp: bool) -> float:
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        logits = forward(x)
    loss = clip_loss(logits, y)
    for p in params:
        p.grad = None
    loss.backward()
    return time.perf_counter() - start


def bench_case(config: RunConfig, batch: int, rounds: int, steps: int) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(config, N_TAGS, SUBCLIP_SAMPLES * N_SUBCLIPS
                        if config.model == "dieleman" else SEGMENT_SAMPLES)
    ref, ref_forward = one_d_forward(model)
    x, y = _inputs(config, batch)
    model.eval()
    ref.eval()
    with torch.no_grad():
        diff = float((model(x) - ref_forward(x)).abs().max())
    model.train()
    ref.train()
    sides = {"time_maps": (model, list(model.parameters())),
             "one_d": (ref_forward, list(ref.parameters()))}
    best: dict[str, list[float]] = {k: [] for k in sides}
    for fwd, params in sides.values():  # warm-up
        _step(fwd, params, x, y, config.amp)
    for _ in range(rounds):
        for side, (fwd, params) in sides.items():
            best[side].append(min(_step(fwd, params, x, y, config.amp) for _ in range(steps)))
    ms = {k: 1e3 * float(np.median(v)) for k, v in best.items()}
    return {"time_maps_ms": ms["time_maps"], "one_d_ms": ms["one_d"],
            "speedup": ms["one_d"] / ms["time_maps"], "max_abs_diff": diff}


def markdown(figures: dict[str, Any]) -> str:
    lines = [f"training step, CPU, {figures['torch_threads']} threads",
             "| model | time maps (ms) | 1-D layers (ms) | speedup | max logit diff |",
             "|---|---:|---:|---:|---:|"]
    for name, f in figures["models"].items():
        lines.append(f"| {name} | {f['time_maps_ms']:.0f} | {f['one_d_ms']:.0f} | "
                     f"{f['speedup']:.2f}x | {f['max_abs_diff']:.1e} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="steps per round and layout")
    parser.add_argument("--models", nargs="*", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv if argv is not None else [])
    if args.threads:
        torch.set_num_threads(args.threads)
    models = {}
    for name in args.models:
        print(f"timing {name} ...", flush=True)
        config, batch = CASES[name]
        models[name] = bench_case(config, batch, args.rounds, args.steps)
    figures = {"torch_threads": torch.get_num_threads(), "rounds": args.rounds,
               "models": models}
    bench_dir = str(Path(__file__).resolve().parent)
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    from run_all import write_result

    print(f"wrote {write_result('layout', figures)}")
    print(markdown(figures))
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
