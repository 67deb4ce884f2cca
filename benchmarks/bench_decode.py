"""Decode + resample throughput of prepare-mtat against a per-file ``librosa.load`` baseline.

Both decode the same mp3 files of a stand-in corpus (MTAT's format: 16 kHz mono mp3s of
~29 s) to 12 kHz. Every timed comparison alternates the order of what it compares over its
rounds and reports medians, so load from other processes affects every side alike.

The headline, pipeline against pipeline:

- ``public_pipeline_clips_per_s``: the baseline as the public MTAT preprocessing runs it: one
  process, a loop over the files, ``librosa.load(path, sr=12000)`` then ``np.save`` per clip.
- ``prepare_pipeline.clips_per_s``: ``prepare_mtat`` itself (decode, resample, int16 memmap
  writes and flushes, index and labels, with its process pool of ``os.cpu_count()``
  workers), as a marginal rate: whole runs on the corpus and on one ``LARGE_FACTOR`` times
  larger, the difference of rows over the difference of times, so the pool's fixed
  start-up (``start_up_seconds``, importing torch in each worker) is left out as it is in a
  25,863-clip MTAT run.
- ``speedup``: their ratio (target >= 3). It grows with the core count.
- ``mtat_projection_minutes``: all 25,863 MTAT mp3s at these rates (start-up included).

Per core (decode only, no writes; one spawn pool of the same workers, torch at one thread
each, every worker warmed up before timing):

- ``prepare_decode_clips_per_s``: :func:`mtlib.data.prepare.decode_clip` (soundfile decode,
  torchaudio windowed-sinc resample, trim/pad to 29.125 s, int16);
  ``librosa_clips_per_s``: ``librosa.load`` (soxr_hq resampler); ``speedup_same_workers``.
- ``mp3_decode_only_clips_per_s``: ``soundfile.read`` alone, which both start with.
- ``decoders.<name>.ms_per_clip``: the decode floor, one process, decode only, for each mp3
  decoder installed: libsndfile (soundfile, prepare-mtat's), dr_mp3 (miniaudio), pedalboard,
  FFmpeg (PyAV). ``per_core_ceiling`` = the fastest decoder's rate over the public
  pipeline's: no change in one process can beat it while the mp3s must be decoded.

``agreement_snr_db``: how closely the two paths' 12 kHz signals agree, over the full band and
below 5 kHz (the resamplers' anti-alias filters differ in the 5-6 kHz transition band, so the
full-band figure depends on a clip's energy there).

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
from mtlib.config import RunConfig

SAMPLE_RATE = RunConfig().sample_rate  # Hz, the shallow CNN's rate (12 kHz)
CHUNK_FILES = 8  # files per task: small enough to balance 64 clips over the workers
LARGE_FACTOR = 8  # the large corpus of prepare_pipeline_rate: this many times --clips


def corpus(clips: int, seed: int = 0) -> Path:
    """A stand-in corpus of ``clips`` clips under the cache dir (generated once)."""
    from mtlib.data.mtat import ANNOTATIONS_FILE, STANDIN_MARKER
    from mtlib.standin.corpus import synth_mtat

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


# --- the decode floor: every installed mp3 decoder, decode only (float32 at the file's rate) --
def _miniaudio(path: str) -> np.ndarray:
    import miniaudio

    return np.frombuffer(miniaudio.mp3_read_file_f32(path).samples, dtype=np.float32)


def _pedalboard(path: str) -> np.ndarray:
    from pedalboard.io import AudioFile

    with AudioFile(path) as f:
        return f.read(f.frames)[0]


def _pyav(path: str) -> np.ndarray:
    import av

    with av.open(path) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


# name -> (module that must import, decode function)
DECODERS = {
    "libsndfile (soundfile)": ("soundfile", _decode_mp3_only),
    "dr_mp3 (miniaudio)": ("miniaudio", _miniaudio),
    "pedalboard": ("pedalboard", _pedalboard),
    "FFmpeg (PyAV)": ("av", _pyav),
}


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


def _public_pipeline(files: list[str], out: Path) -> None:
    """The public MTAT preprocessing loop: one process, librosa.load then np.save per clip."""
    import librosa

    for i, f in enumerate(files):
        np.save(out / f"{i}.npy", librosa.load(f, sr=SAMPLE_RATE)[0])


def time_single_process(
    files: list[str], rounds: int
) -> tuple[list[float], dict[str, list[float]]]:
    """Clips/s per round of the public pipeline and of each importable decoder, in this process.

    Every method decodes one file first (imports, first-call set-up). Neither uses torch.
    """
    import importlib.util

    decoders = {name: fn for name, (module, fn) in DECODERS.items()
                if importlib.util.find_spec(module) is not None}
    for fn in (*decoders.values(), _decode_librosa):
        fn(files[0])
    public: list[float] = []
    rates: dict[str, list[float]] = {name: [] for name in decoders}
    with tempfile.TemporaryDirectory(prefix="bench-public-", dir=paths.cache_dir()) as tmp:
        for r in range(rounds):
            order = ["public", *decoders]
            for name in (order if r % 2 == 0 else reversed(order)):
                start = time.perf_counter()
                if name == "public":
                    _public_pipeline(files, Path(tmp))
                else:
                    for f in files:
                        decoders[name](f)
                rate = len(files) / (time.perf_counter() - start)
                (public if name == "public" else rates[name]).append(rate)
    return public, rates


def agreement_snr_db(files: list[str], n: int = 4, below_hz: float | None = None) -> float:
    """SNR (dB) of prepare's 12 kHz int16 signal against librosa's, over ``n`` files;
    with ``below_hz``, of both signals low-passed there (an FFT mask)."""
    from mtlib.data.cache import INT16_SCALE

    signal = noise = 0.0
    for f in files[:n]:
        ours = _decode_prepare(f).astype(np.float64) / INT16_SCALE
        ref = _decode_librosa(f).astype(np.float64)
        m = min(len(ours), len(ref))
        ours, ref = ours[:m], ref[:m]
        if below_hz is not None:
            keep = np.fft.rfftfreq(m, 1 / SAMPLE_RATE) < below_hz
            ours = np.fft.irfft(np.fft.rfft(ours) * keep, m)
            ref = np.fft.irfft(np.fft.rfft(ref) * keep, m)
        signal += float(np.sum(ref ** 2))
        noise += float(np.sum((ours - ref) ** 2))
    return 10 * np.log10(signal / max(noise, 1e-20))


def time_prepare_end_to_end(root: Path, workers: int) -> tuple[float, int]:
    """(seconds, rows) of a complete ``prepare_mtat`` run into a temporary folder,
    process-pool start-up included (a large share on a small corpus)."""
    import json
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
        return seconds, int(json.loads((out / "meta.json").read_text())["n_clips"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_pipeline_rate(small: Path, large: Path, workers: int, repeats: int) -> dict:
    """prepare-mtat's whole-pipeline rate without its fixed start-up cost.

    ``prepare_mtat`` (decode, resample, memmap writes and flushes, index and labels) runs on a
    small and a large corpus, ``repeats`` times each, alternating; the median times give the
    marginal rate ``(rows_large - rows_small) / (t_large - t_small)`` (clips/s once the pool
    is running, which is what a 25,863-clip MTAT run sees) and the start-up cost (the small
    run's time less its rows at that rate).
    """
    times: dict[str, list[float]] = {"small": [], "large": []}
    rows: dict[str, int] = {}
    for r in range(repeats):
        for name in (("small", "large") if r % 2 == 0 else ("large", "small")):
            seconds, rows[name] = time_prepare_end_to_end(small if name == "small" else large,
                                                          workers)
            times[name].append(seconds)
    t_small, t_large = statistics.median(times["small"]), statistics.median(times["large"])
    rate = (rows["large"] - rows["small"]) / max(t_large - t_small, 1e-9)
    return {
        "clips_per_s": round(rate, 2),
        "start_up_seconds": round(max(0.0, t_small - rows["small"] / rate), 2),
        "seconds": {f"{rows['small']}_clips": round(t_small, 2),
                    f"{rows['large']}_clips": round(t_large, 2)},
        "end_to_end_clips_per_s": {f"{rows['small']}_clips": round(rows["small"] / t_small, 2),
                                   f"{rows['large']}_clips": round(rows["large"] / t_large, 2)},
    }


def main(clips: int = 64, rounds: int = 5, workers: int | None = None) -> dict:
    from run_all import write_result

    from mtlib.data.metadata import N_ANNOTATION_ROWS as MTAT_MP3S  # one mp3 per row

    root = corpus(clips)
    files = mp3_files(root)
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))  # prepare's default
    print(f"decode benchmark: {len(files)} mp3s from {root}, {workers} worker process(es), "
          f"{rounds} round(s) per method", flush=True)
    rates = time_methods(files, workers, rounds)
    public_rates, decoder_rates = time_single_process(files, rounds)
    pipeline = prepare_pipeline_rate(root, corpus(LARGE_FACTOR * clips), workers,
                                     repeats=max(1, rounds // 2 + 1))
    decode_rate = statistics.median(rates["prepare"])
    librosa_rate = statistics.median(rates["librosa"])
    mp3_rate = statistics.median(rates["mp3_only"])
    public_rate = statistics.median(public_rates)
    decoders = {name: {"clips_per_s": round(statistics.median(r), 2),
                       "ms_per_clip": round(1000 / statistics.median(r), 2)}
                for name, r in decoder_rates.items()}
    fastest = max(decoders, key=lambda name: decoders[name]["clips_per_s"])
    figures = {
        "clips": len(files),
        "workers": workers,
        "rounds": rounds,
        "sample_rate_hz": SAMPLE_RATE,
        "prepare_pipeline": pipeline,
        "public_pipeline_clips_per_s": round(public_rate, 2),
        "speedup": round(pipeline["clips_per_s"] / public_rate, 2),
        "speedup_target": 3.0,
        "prepare_decode_clips_per_s": round(decode_rate, 2),
        "librosa_clips_per_s": round(librosa_rate, 2),
        "speedup_same_workers": round(decode_rate / librosa_rate, 2),
        "mp3_decode_only_clips_per_s": round(mp3_rate, 2),
        "decoders": decoders,
        "fastest_decoder": fastest,
        "per_core_ceiling": round(decoders[fastest]["clips_per_s"] / public_rate, 2),
        "prepare_decode_rounds_clips_per_s": [round(x, 2) for x in rates["prepare"]],
        "librosa_rounds_clips_per_s": [round(x, 2) for x in rates["librosa"]],
        "mp3_only_rounds_clips_per_s": [round(x, 2) for x in rates["mp3_only"]],
        "public_pipeline_rounds_clips_per_s": [round(x, 2) for x in public_rates],
        "mtat_projection_minutes": {
            "prepare_mtat": round(
                (pipeline["start_up_seconds"] + MTAT_MP3S / pipeline["clips_per_s"]) / 60, 1),
            "public_pipeline": round(MTAT_MP3S / public_rate / 60, 1),
        },
        "agreement_snr_db": round(agreement_snr_db(files), 1),
        "agreement_below_5khz_snr_db": round(agreement_snr_db(files, below_hz=5000.0), 1),
    }
    out = write_result("decode", figures)
    met = "met" if figures["speedup"] >= figures["speedup_target"] else "NOT met"
    print(f"prepare-mtat ({workers} workers, whole pipeline, start-up excluded): "
          f"{pipeline['clips_per_s']:.1f} clips/s; public pipeline (1 process, librosa.load + "
          f"np.save): {public_rate:.1f} clips/s; speedup {figures['speedup']:.2f}x (target >= 3: "
          f"{met}). Decode only, {workers} workers each: decode_clip {decode_rate:.1f}, "
          f"librosa.load {librosa_rate:.1f} clips/s ({figures['speedup_same_workers']:.2f}x). "
          f"Decode floor: {fastest} {decoders[fastest]['ms_per_clip']:.2f} ms/clip, at most "
          f"{figures['per_core_ceiling']:.2f}x the public pipeline per core. All of MTAT: "
          f"{figures['mtat_projection_minutes']['prepare_mtat']} min against "
          f"{figures['mtat_projection_minutes']['public_pipeline']} min. Agreement "
          f"{figures['agreement_snr_db']:.1f} dB SNR "
          f"({figures['agreement_below_5khz_snr_db']:.1f} dB below 5 kHz) -> {out}")
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64, help="stand-in clips to decode")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per method")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    args = parser.parse_args()
    main(args.clips, args.rounds, args.workers)
