"""Stand-in corpus: generation time, size, label frequencies and learnability baseline.

Generates the quick-profile corpus (``QUICK_CLIPS`` clips, seed 0) from scratch, into a
temporary folder with an empty score cache, so the time includes parsing the scores. Then:
the smoke corpus time (score cache warm), the corpus size on disk, the annotated tag
frequencies against MTAT's, and the log-mel statistics + logistic-regression baseline
(macro ROC-AUC on the test folders d-f; target band 0.80-0.95).

Targets: quick corpus <= 180 s on a 2-core machine; baseline macro AUC in [0.80, 0.95].
The machine is often shared, so the load average and CPU seconds are reported beside the
wall-clock time. Writes results/bench/standin.json.

Usage: ``python benchmarks/bench_standin.py [--clips N] [--seed S] [--workers W]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from mtlib import paths
from mtlib.data.mtat import read_annotations
from mtlib.standin.baseline import run_baseline
from mtlib.standin.corpus import QUICK_CLIPS, SMOKE_CLIPS, synth_mtat
from mtlib.standin.vocab import VOCABULARY, target_marginals

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_all import write_result  # noqa: E402

TIME_TARGET_S = 180.0
AUC_BAND = (0.80, 0.95)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed_synth(out: Path, clips: int, seed: int, workers: int | None) -> dict:
    load_before = os.getloadavg()[0]
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    synth_mtat(out, clips, seed, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    return {
        "clips": clips,
        "seconds": round(wall, 1),
        "cpu_seconds": round(_cpu_seconds() - cpu0, 1),
        "workers": workers or os.cpu_count(),
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "size_mb": round(sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6, 1),
    }


def main(clips: int = QUICK_CLIPS, seed: int = 0, workers: int | None = None) -> dict:
    paths.cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-standin-", dir=paths.cache_dir()) as tmp:
        # An empty score cache: the time includes parsing the scores.
        with paths.environ({"MTLIB_CACHE_DIR": tmp}):
            quick = _timed_synth(Path(tmp) / "quick", clips, seed, workers)
            smoke = _timed_synth(Path(tmp) / "smoke", SMOKE_CLIPS, seed, workers)
            annotations = read_annotations(Path(tmp) / "quick")
            baseline = run_baseline(Path(tmp) / "quick", workers=workers, progress=False)
    targets = target_marginals()
    freq = {t: round(float(annotations[t].mean()), 4) for t in VOCABULARY}
    per_tag = baseline["per_tag"]
    figures = {
        "quick_corpus": quick,
        "quick_clips_per_second": round(quick["clips"] / quick["seconds"], 2),
        "quick_within_time_target": quick["seconds"] <= TIME_TARGET_S,
        "smoke_corpus": smoke,
        "baseline_macro_roc_auc": round(baseline["macro_roc_auc"], 4),
        "baseline_in_band": AUC_BAND[0] <= baseline["macro_roc_auc"] <= AUC_BAND[1],
        "baseline_min_tag_auc": round(min(per_tag.values()), 3),
        "baseline_max_tag_auc": round(max(per_tag.values()), 3),
        "baseline_n_train": baseline["n_train"],
        "baseline_n_test": baseline["n_test"],
        "baseline_per_tag_auc": {t: round(v, 3) for t, v in per_tag.items()},
        "baseline_excluded_tags": baseline["excluded_tags"],
        "tag_frequency": freq,
        "tag_frequency_target": {t: round(targets[t], 4) for t in VOCABULARY},
        "clips_without_vocabulary_tag": round(
            float((annotations[list(VOCABULARY)].sum(axis=1) == 0).mean()), 3),
        "seed": seed,
    }
    write_result("standin", figures)
    _print(figures)
    return figures


def _print(f: dict) -> None:
    q, s = f["quick_corpus"], f["smoke_corpus"]
    print(f"quick corpus: {q['clips']} clips in {q['seconds']} s ({q['cpu_seconds']} CPU s, "
          f"{q['workers']} workers, load {q['load_average_1min_before']} -> "
          f"{q['load_average_1min_after']}), {q['size_mb']} MB; target <= {TIME_TARGET_S:.0f} s")
    print(f"smoke corpus: {s['clips']} clips in {s['seconds']} s, {s['size_mb']} MB")
    print(f"baseline macro ROC-AUC {f['baseline_macro_roc_auc']:.3f} (target "
          f"{AUC_BAND[0]}-{AUC_BAND[1]}), per tag {f['baseline_min_tag_auc']:.2f}-"
          f"{f['baseline_max_tag_auc']:.2f}, {f['baseline_n_train']} train+valid / "
          f"{f['baseline_n_test']} test clips")
    print(f"{'tag':12s} {'freq':>6s} {'MTAT':>6s} {'AUC':>6s}")
    for t in VOCABULARY:
        auc = f["baseline_per_tag_auc"].get(t)
        print(f"{t:12s} {f['tag_frequency'][t]:6.3f} {f['tag_frequency_target'][t]:6.3f} "
              f"{'' if auc is None else f'{auc:6.3f}'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=QUICK_CLIPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    main(args.clips, args.seed, args.workers)
