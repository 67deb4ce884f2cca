"""Decode + resample throughput of prepare-mtat against a per-file ``librosa.load`` baseline.

Both paths decode the same mp3 files of a stand-in corpus (MTAT's format: 16 kHz mono mp3s of
~29 s) to 12 kHz, with the parallelism ``prepare_mtat`` uses on this machine: a spawn process
pool of ``os.cpu_count()`` workers, torch limited to one thread per worker, work handed out in
chunks of files. Each worker decodes one file with both methods before the clock starts
(imports, resampling kernels), and the timed rounds alternate between the two methods so
neither profits from running second. Figures are medians over the rounds.

- ``prepare_clips_per_s``: :func:`mtlib.data.prepare.decode_clip` (soundfile decode, torchaudio
  windowed-sinc resample, trim/pad to 29.125 s, int16), what prepare-mtat runs per clip.
- ``librosa_clips_per_s``: ``librosa.load(path, sr=12000)`` (its default soxr_hq resampler).
- ``speedup``: their ratio (target >= 3).
- ``mp3_decode_only_clips_per_s``: ``soundfile.read`` alone (libsndfile's mpg123 decoder,
  no resampling), which both paths above start with; ``max_speedup_same_mp3_decoder`` =
  that / librosa is the most any resampler change could gain while decoding with libsndfile.
- ``prepare_end_to_end_*``: a whole ``prepare_mtat`` run on the corpus (process-pool
  start-up, decode, memmap writes, index/labels), for reference; on a small corpus the
  start-up of the spawned workers (importing torch) dominates.
- ``agreement_snr_db``: how closely the two decoders' 12 kHz signals agree (same audio?).

Run: ``python benchmarks/bench_decode.py [--clips 64] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from mtlib import paths

SAMPLE_RATE = 12000  # Hz, the shallow CNN's rate
CHUNK_FILES = 8  # files per task: small enough to balance 64 clips over the workers


def corpus(clips: int, seed: int = 0) -> Path:
    """A stand-in corpus of ``clips`` clips under the cache dir (generated once)."""
    from mtlib.data.mtat import ANNOTATIONS_FILE, STANDIN_MARKER
    from mtlib.synth.corpus import synth_mtat

    root = paths.corpus_dir(f"bench-decode-{clips}-seed{seed}")
    if not ((root / STANDIN_MARKER).is_file() and (root / ANNOTATIONS_FILE).is_file()):
        synth_mtat(root, clips=clips, seed=seed)
    return root


def mp3_files(root: Path) -> list[str]:
    from mtlib.data.mtat import read_annotations

    annotations = read_annotations(root)
    files = [str(root / p) for p in annotations["mp3_path"]]
    return [f for f in files if os.path.getsize(f) > 0]


# --- worker side ----------------------------------------------------------------------------
def _decode_prepare(path: str) -> np.ndarray:
    from mtlib.data.prepare import clip_samples_for, decode_clip

    return decode_clip(path, SAMPLE_RATE, clip_samples_for(SAMPLE_RATE))


def _decode_librosa(path: str) -> np.ndarray:
    import librosa

    return librosa.load(path, sr=SAMPLE_RATE)[0]


def _decode_mp3_only(path: str) -> np.ndarray:
    import soundfile as sf

    return sf.read(path, dtype="float32")[0]  # libsndfile's mp3 decoder, no resampling


METHODS = {"prepare": _decode_prepare, "librosa": _decode_librosa, "mp3_only": _decode_mp3_only}


def _worker_init(warm_file: str) -> None:
    from mtlib.data.prepare import _worker_init as prepare_worker_init

    prepare_worker_init()  # exactly prepare's worker setup (torch: one thread)
    for decode in METHODS.values():  # warm-up, excluded from the timings
        decode(warm_file)


def _run_chunk(args: tuple[str, list[str]]) -> int:
    method, files = args
    decode = METHODS[method]
    for f in files:
        decode(f)
    return len(files)


def _ping(_: int) -> int:
    time.sleep(0.05)  # long enough that every worker takes one, i.e. has finished warming up
    return os.getpid()


# --- driver ---------------------------------------------------------------------------------
def time_methods(files: list[str], workers: int, rounds: int) -> dict[str, list[float]]:
    """Clips/s of each method per round, in one warmed-up process pool."""
    chunks = [files[i:i + CHUNK_FILES] for i in range(0, len(files), CHUNK_FILES)]
    rates: dict[str, list[float]] = {m: [] for m in METHODS}
    ctx = get_context("spawn")  # as prepare_mtat
    with ctx.Pool(workers, initializer=_worker_init, initargs=(files[0],)) as pool:
        pool.map(_ping, range(4 * workers), chunksize=1)
        for r in range(rounds):
            order = list(METHODS) if r % 2 == 0 else list(reversed(list(METHODS)))
            for method in order:
                start = time.perf_counter()
                done = sum(pool.map(_run_chunk, [(method, c) for c in chunks], chunksize=1))
                rates[method].append(done / (time.perf_counter() - start))
    return rates


def agreement_snr_db(files: list[str], n: int = 4) -> float:
    """SNR (dB) of prepare's 12 kHz int16 signal against librosa's, over ``n`` files."""
    signal = noise = 0.0
    for f in files[:n]:
        ours = _decode_prepare(f).astype(np.float64) / 32768.0
        ref = _decode_librosa(f).astype(np.float64)
        m = min(len(ours), len(ref))
        signal += float(np.sum(ref[:m] ** 2))
        noise += float(np.sum((ours[:m] - ref[:m]) ** 2))
    return 10 * np.log10(signal / max(noise, 1e-20))


def time_prepare_end_to_end(root: Path, workers: int) -> tuple[float, float]:
    """(seconds, clips/s) of a complete ``prepare_mtat`` run into a temporary folder,
    process-pool start-up included (a large share on a small corpus)."""
    import warnings

    from mtlib.data.prepare import prepare_mtat

    tmp = Path(tempfile.mkdtemp(prefix="bench-prepare-", dir=paths.cache_dir()))
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = prepare_mtat(root, SAMPLE_RATE, dataset="bench-decode", workers=workers,
                               progress=False, out=tmp / "prepared")
        seconds = time.perf_counter() - start
        import json

        n = json.loads((out / "meta.json").read_text())["n_clips"]
        return seconds, n / seconds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(clips: int = 64, rounds: int = 5, workers: int | None = None) -> dict:
    from run_all import write_result

    root = corpus(clips)
    files = mp3_files(root)
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))  # prepare's default
    print(f"decode benchmark: {len(files)} mp3s from {root}, {workers} worker process(es), "
          f"{rounds} round(s) per method", flush=True)
    rates = time_methods(files, workers, rounds)
    prepare_rate = statistics.median(rates["prepare"])
    librosa_rate = statistics.median(rates["librosa"])
    mp3_rate = statistics.median(rates["mp3_only"])
    prepare_seconds, prepare_e2e_rate = time_prepare_end_to_end(root, workers)
    figures = {
        "clips": len(files),
        "workers": workers,
        "rounds": rounds,
        "sample_rate_hz": SAMPLE_RATE,
        "prepare_clips_per_s": round(prepare_rate, 2),
        "librosa_clips_per_s": round(librosa_rate, 2),
        "speedup": round(prepare_rate / librosa_rate, 2),
        "speedup_target": 3.0,
        "mp3_decode_only_clips_per_s": round(mp3_rate, 2),
        "max_speedup_same_mp3_decoder": round(mp3_rate / librosa_rate, 2),
        "prepare_rounds_clips_per_s": [round(x, 2) for x in rates["prepare"]],
        "librosa_rounds_clips_per_s": [round(x, 2) for x in rates["librosa"]],
        "mp3_only_rounds_clips_per_s": [round(x, 2) for x in rates["mp3_only"]],
        "prepare_end_to_end_seconds": round(prepare_seconds, 2),
        "prepare_end_to_end_clips_per_s": round(prepare_e2e_rate, 2),
        "agreement_snr_db": round(agreement_snr_db(files), 1),
    }
    out = write_result("decode", figures)
    print(f"prepare decode: {prepare_rate:.1f} clips/s; librosa.load: {librosa_rate:.1f} clips/s; "
          f"speedup {figures['speedup']:.2f}x (target >= 3); mp3 decoding alone "
          f"{mp3_rate:.1f} clips/s (at most {figures['max_speedup_same_mp3_decoder']:.2f}x over "
          f"librosa with this decoder); whole prepare_mtat {prepare_e2e_rate:.1f} clips/s "
          f"({prepare_seconds:.1f} s incl. pool start-up); agreement "
          f"{figures['agreement_snr_db']:.1f} dB SNR -> {out}")
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64, help="stand-in clips to decode")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per method")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    args = parser.parse_args()
    main(args.clips, args.rounds, args.workers)
