"""End-to-end wall time: the quick profile as measured, the full profile projected.

Quick profile (``make reproduce``): the report runner's own record,
``results/report/timings.json`` (dataset step and each notebook's wall seconds). Nothing is
rerun here; if the file is missing or holds another profile, the output says so. Because a
rerun reuses the run store, the file also says how much training the store holds for that
profile's dataset (the sum of its runs' ``train_seconds``), to tell a from-scratch run from a
rerun.

Full profile (real MTAT, the report's settings): projected, not run.

1. Runs. :func:`mtlib.report.plan.record` runs the sections' own grid code (coordinate search,
   Table I, Table II, SampleCNN study) with a recording executor, the same one behind
   ``mtlib report --plan``; configurations repeated across grids are counted once, as the
   run store trains them once. The recording follows the report's choices (min-max input,
   32 filters, lr 0.0075, momentum 0.95, L = S = 256) and otherwise keeps the first variant.
2. Cost of a run: epochs x (train clips x training FLOPs per clip + (validation +
   train-AUC clips) x evaluation FLOPs per clip) + test clips x evaluation FLOPs, with FLOPs
   counted by ``torch.utils.flop_counter`` on the run's own architecture, divided by the
   GFLOP/s that ``bench_training.py`` achieved on the nearest benchmarked architecture
   (Dieleman L = S = 256 or 128, SampleCNN). Clips: the standard split has 15,244 / 1,529 /
   4,332 train / valid / test clips; the folder split 18,706 / 1,825 / 5,329 (from the shipped
   MTAT index, without the three empty mp3s).
3. Calibration. Finished runs in the run store (same device type, MTAT-length clips, >= 100
   train clips, e.g. the quick profile's) have measured seconds per epoch in
   ``history.csv``; their median ratio to what step 2 predicts for them covers data loading,
   evaluation metrics and Python overhead. The calibrated figure is the headline; both are
   reported (without such runs the factor is 1).
4. N devices: the notebooks run their grids one after another, each grid's runs in parallel,
   one run per device (no fractional sharing assumed), scheduled longest first. The
   projected time is the sum over grids of each grid's makespan.

The device is the one ``bench_training.py`` measured on: a CPU projection says how long the
full profile would take on this CPU; on a GPU machine it projects GPU hours.

Run: ``python benchmarks/bench_end_to_end.py [--devices 1 2 4 8]`` (after bench_training.py).
"""

from __future__ import annotations

import argparse
import functools
import heapq
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mtlib import paths
from mtlib.config import RunConfig
from mtlib.constants import N_SUBCLIPS as SUBCLIPS
from mtlib.constants import SEGMENT_SAMPLES as SEGMENT
from mtlib.data.prepare import CLIP_SECONDS as REFERENCE_CLIP_SECONDS

MIN_CALIBRATION_TRAIN_CLIPS = 100


# --- the quick profile: the report runner's timings -------------------------------------------


def quick_profile_timings(profile: str = "quick") -> dict[str, Any]:
    path = paths.report_dir() / "timings.json"
    if not path.is_file():
        return {"available": False,
                "note": f"{path} does not exist: run `make reproduce` (mtlib report --profile "
                        f"{profile}) first"}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("profile") != profile:
        return {"available": False,
                "note": f"{path} holds profile {data.get('profile')!r}, not {profile!r}: run "
                        f"`mtlib report --profile {profile}`"}
    notebooks = {k: v.get("seconds") for k, v in sorted(data.get("notebooks", {}).items())}
    failed = sorted(
        k for k, v in data.get("notebooks", {}).items() if v.get("status") != "finished"
    )
    out: dict[str, Any] = {
        "available": True,
        "updated": data.get("updated"),
        "dataset_seconds": round(float(data.get("dataset_seconds", 0.0)), 1),
        "notebook_seconds": notebooks,
        "total_minutes": round(float(data.get("total_seconds", 0.0)) / 60, 2),
        "notebooks_not_finished": ", ".join(failed) or "none",
    }
    try:
        from mtlib.report.profiles import load_profile

        dataset = load_profile(profile).data_name
        runs = _store_runs(dataset)
        out["store_runs"] = len(runs)
        out["store_train_minutes"] = round(sum(r.metrics.get("train_seconds", 0) for r in runs)
                                           / 60, 2)
    except Exception as err:  # noqa: BLE001 - the timings stand on their own
        out["store_note"] = f"run store not read: {type(err).__name__}: {err}"
    return out


def _store_runs(dataset: str | None = None) -> list:
    from mtlib.training.runs import RunStore

    return [r for r in RunStore().finished() if dataset is None or r.config.dataset == dataset]


# --- the full profile: which runs --------------------------------------------------------------


def full_profile_grids(profile) -> tuple[list[tuple[str, list[RunConfig]]], dict[str, int]]:
    """``(grid name, new configs)`` in notebook order, from :func:`mtlib.report.plan.record` (the
    sections' own code with a recording executor: nothing trains); configs seen in an earlier
    grid are left out, as the run store trains them once. Also the epochs each run trains:
    fewer than its ``epochs`` where it continues an earlier, shorter run."""
    from mtlib.report.plan import continued_epochs, record

    recorder, spans = record(profile)
    grids: list[tuple[str, list[RunConfig]]] = []
    trained: dict[str, int] = {}
    for notebook, (first, end) in spans.items():
        for label, configs in recorder.grids[first:end]:
            new = [c for c in {c.run_id: c for c in configs}.values() if c.run_id not in trained]
            seen = set(trained)
            trained.update({c.run_id: c.epochs - continued_epochs(c, seen) for c in new})
            if new:
                grids.append((f"{notebook[:2]} {label}", new))
    return grids, trained


def split_clips(split: str) -> dict[str, int]:
    """Train / valid / test clip counts of real MTAT for ``split``."""
    from mtlib.data import metadata
    from mtlib.data.mtat import folder_split

    if split == "standard":
        return {k: len(v) for k, v in metadata.standard_split_paths().items()}
    index = metadata.mtt_index()
    index = index[~index["clip_id"].isin(metadata.EMPTY_MP3_CLIP_IDS)]
    parts = [folder_split(p) for p in index["mp3_path"]]
    return {k: parts.count(k) for k in ("train", "valid", "test")}


# --- cost model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arch:
    """What sets a run's compute per clip (not lr, momentum, dropout p, seed, epochs)."""

    model: str
    filters: int
    length: int
    stride: int
    frontend: str
    norm: str
    groups: int
    sample_rate: int
    clip_samples: int
    segments: int  # SampleCNN: 0 = non-overlapping segments, N = N evenly spaced ones
    train_crop: bool  # SampleCNN: one crop per clip per epoch instead of every segment

    @classmethod
    def of(cls, config: RunConfig, clip_samples: int | None = None) -> Arch:
        clip = clip_samples or round(REFERENCE_CLIP_SECONDS * config.sample_rate)
        return cls(config.model, config.filters, config.length, config.stride, config.frontend,
                   config.norm, config.groups, config.sample_rate, clip, config.segments,
                   config.train_segments == "crop")

    def eval_units(self) -> int:
        if self.model == "dieleman":
            return SUBCLIPS
        return self.segments or max(1, self.clip_samples // SEGMENT)

    def train_units(self) -> int:
        """Units one training clip puts through the network per epoch."""
        return 1 if self.model == "samplecnn" and self.train_crop else self.eval_units()

    def reference(self) -> str:
        """The benchmarked architecture this one is scaled from."""
        if self.model == "samplecnn":
            return "samplecnn"
        return "dieleman_128" if self.stride <= 181 else "dieleman_256"  # geometric midpoint


@functools.lru_cache(maxsize=None)
def clip_gflop(arch: Arch) -> tuple[float, float]:
    """(training GFLOP per clip, evaluation GFLOP per clip) of ``arch``, counted on CPU."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from mtlib.models import build_model
    from mtlib.training.fit import clip_loss

    cfg = RunConfig(model=arch.model, filters=arch.filters, length=arch.length,
                    stride=arch.stride, frontend=arch.frontend, norm=arch.norm,
                    groups=arch.groups, sample_rate=arch.sample_rate)
    torch.manual_seed(0)
    model = build_model(cfg, 50, arch.clip_samples)
    if arch.model == "dieleman":
        train_x = torch.zeros(2, SUBCLIPS, 1, arch.clip_samples // SUBCLIPS)  # 2: batch norm
        eval_x = train_x[:1]
    else:
        train_x = torch.zeros(2, arch.train_units(), 1, SEGMENT)
        eval_x = torch.zeros(1, arch.eval_units(), 1, SEGMENT)
    y = torch.zeros(2, 50)
    model.train()
    counter = FlopCounterMode(display=False)
    with counter:
        clip_loss(model(train_x), y).backward()
    train = counter.get_total_flops() / 2 / 1e9
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(eval_x)
    return train, counter.get_total_flops() / 1e9


def benchmark_rates(bench: dict[str, Any], kind: str = "median") -> tuple[dict, list[str]]:
    """``{model: (train GFLOP/s, eval GFLOP/s)}`` from training.json's ``kind`` figures
    ("median" or "best"), and the models whose eval rate was implausible (see below)."""
    rates, implausible = {}, []
    for name, m in bench["models"].items():
        figures = m.get(kind, m)
        train = float(figures["achieved_gflops"])
        if "eval_achieved_gflops" in figures:
            evaluate = float(figures["eval_achieved_gflops"])
        else:
            evaluate = float(figures["eval_units_per_s"]) * float(m["eval_gflop_per_unit"])
        peak = float(bench.get("peak_gflops", {}).get(m.get("peak_kind", "fp32"), "inf"))
        if evaluate > peak:
            # Faster than the machine's measured matmul peak: a timing glitch (e.g. another
            # process paused mid-measurement); the training rate is the safer estimate.
            implausible.append(name)
            evaluate = train
        rates[name] = (train, evaluate)
    return rates, implausible


def run_seconds(config: RunConfig, clips: dict[str, int], rates: dict[str, tuple],
                epochs: int | None = None, clip_samples: int | None = None) -> float:
    """Predicted seconds of ``config`` (or of one epoch with ``epochs=1`` and no test pass when
    ``clips['test'] == 0``) from FLOP counts and the benchmark's achieved GFLOP/s."""
    arch = Arch.of(config, clip_samples)
    train_rate, eval_rate = rates[arch.reference()]
    train_gflop, eval_gflop = clip_gflop(arch)
    train_clips = min(clips["train"], config.max_train_clips or clips["train"])
    eval_clips = clips["valid"] + min(config.train_eval_clips, train_clips)
    per_epoch = train_clips * train_gflop / train_rate + eval_clips * eval_gflop / eval_rate
    test = clips["test"] * eval_gflop / eval_rate
    return (epochs if epochs is not None else config.epochs) * per_epoch + test


def calibration(rates: dict[str, tuple], device_type: str) -> dict[str, Any]:
    """Median of measured / predicted seconds per epoch over the run store's finished runs."""
    ratios = []
    for r in _store_runs():
        if not str(r.metrics.get("device", "")).startswith(device_type):
            continue
        n = r.metrics.get("n_clips") or {}
        if not n or r.history.empty:
            continue
        meta = paths.prepared_dir(r.config.dataset, r.config.sample_rate) / "meta.json"
        clip_samples = json.loads(meta.read_text())["clip_samples"] if meta.is_file() else None
        # Only runs shaped like real ones: MTAT-length clips and a train split of some size
        # (tiny test fixtures measure per-epoch overhead, not throughput).
        if clip_samples != round(REFERENCE_CLIP_SECONDS * r.config.sample_rate):
            continue
        if n.get("train", 0) < MIN_CALIBRATION_TRAIN_CLIPS:
            continue
        clips = {"train": n["train"], "valid": n["valid"], "test": 0}
        cfg = r.config.replace(train_eval_clips=n.get("train_eval", 0), max_train_clips=None)
        try:
            predicted = run_seconds(cfg, clips, rates, epochs=1, clip_samples=clip_samples)
        except Exception:  # noqa: BLE001 - e.g. a clip too short for the architecture
            continue
        measured = float(statistics.median(r.history["seconds"]))
        if predicted > 0:
            ratios.append(measured / predicted)
    if not ratios:
        return {"runs": 0, "factor": None}
    return {"runs": len(ratios), "factor": round(statistics.median(ratios), 3),
            "factor_min": round(min(ratios), 3), "factor_max": round(max(ratios), 3)}


def makespan(durations: Sequence[float], devices: int) -> float:
    """Longest-first list scheduling of independent runs on ``devices`` devices."""
    loads = [0.0] * devices
    heapq.heapify(loads)
    for d in sorted(durations, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + d)
    return max(loads)


def project_full(devices: Sequence[int]) -> dict[str, Any]:
    from mtlib.report.profiles import load_profile

    bench_path = paths.bench_dir() / "training.json"
    if not bench_path.is_file():
        return {"available": False,
                "note": f"{bench_path} missing: run benchmarks/bench_training.py first"}
    bench = json.loads(bench_path.read_text(encoding="utf-8"))
    device = bench.get("device", "cpu")
    device_type = "cpu" if device == "cpu" else "cuda"
    # Median rates: what a run sees on this machine (as the calibration runs did); the best
    # rates give the uncontended bound.
    rates, implausible = benchmark_rates(bench, "median")
    best_rates, _ = benchmark_rates(bench, "best")

    profile = load_profile("full")
    grids, trained = full_profile_grids(profile)
    clips = split_clips(profile.data_split)
    configs = [c for _, cfgs in grids for c in cfgs]
    cal = calibration(rates, device_type)
    factor = cal["factor"] or 1.0

    def seconds(r: dict) -> list[tuple[str, list[float]]]:
        return [(name, [run_seconds(c, clips, r, epochs=trained[c.run_id]) for c in cfgs])
                for name, cfgs in grids]

    per_grid, per_grid_best = seconds(rates), seconds(best_rates)

    def hours(grid_seconds: list, n: int, scale: float) -> float:
        return round(sum(makespan(d, n) for _, d in grid_seconds) * scale / 3600, 1)

    out: dict[str, Any] = {
        "available": True,
        "device": device if device_type == "cuda" else f"cpu ({bench.get('torch_threads')} "
                                                       "threads)",
        "split": profile.data_split,
        "clips_train_valid_test": f"{clips['train']}/{clips['valid']}/{clips['test']}",
        "runs": len(configs),
        "runs_dieleman": sum(c.model == "dieleman" for c in configs),
        "runs_samplecnn": sum(c.model == "samplecnn" for c in configs),
        "epochs": sum(trained.values()),
        "grids": len(per_grid),
        "calibration": cal,
        "eval_rate_above_peak_replaced": ", ".join(implausible) or "none",
        "hours_uncalibrated_1_device": hours(per_grid, 1, 1.0),
        "hours_uncontended_1_device": hours(per_grid_best, 1, factor),
        "hours_by_devices": {str(n): hours(per_grid, n, factor) for n in devices},
        "hours_by_grid_1_device": {name: round(sum(d) * factor / 3600, 2)
                                   for name, d in per_grid},
    }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from run_all import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="device counts to project the full profile for")
    args = parser.parse_args(argv if argv is not None else [])

    figures = {"quick_profile": quick_profile_timings(), "full_profile": project_full(args.devices)}
    out = write_result("end_to_end", figures)

    q = figures["quick_profile"]
    if q["available"]:
        print(f"quick profile: {q['total_minutes']} min in total (dataset "
              f"{q['dataset_seconds']} s), recorded {q['updated']}")
        for nb, s in q["notebook_seconds"].items():
            print(f"  {nb}: {s} s")
    else:
        print(f"quick profile: {q['note']}")
    f = figures["full_profile"]
    if f["available"]:
        print(f"full profile: {f['runs']} runs ({f['runs_dieleman']} Dieleman, "
              f"{f['runs_samplecnn']} SampleCNN), {f['epochs']} epochs, {f['grids']} grids, "
              f"split {f['split']} ({f['clips_train_valid_test']} clips)")
        cal = f["calibration"]
        cal_text = (f"calibrated x{cal['factor']} by {cal['runs']} stored runs"
                    if cal["runs"] else "uncalibrated: no MTAT-sized runs in the run store")
        print(f"  projected on {f['device']}: "
              + ", ".join(f"{n} device(s) {h} h" for n, h in f["hours_by_devices"].items())
              + f" ({cal_text}; 1 device uncalibrated {f['hours_uncalibrated_1_device']} h, "
              f"at the benchmark's best rates {f['hours_uncontended_1_device']} h)")
    else:
        print(f"full profile: {f['note']}")
    print(f"wrote {out}")
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(sys.argv[1:])
