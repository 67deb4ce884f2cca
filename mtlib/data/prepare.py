"""Decode an MTAT-format folder once into a fixed-length int16 cache (see mtlib.data.cache).

Each mp3 is decoded with soundfile, mixed to mono, resampled with torchaudio to the target
rate and trimmed/zero-padded to ``round(29.125 * sample_rate)`` samples (349,500 at 12 kHz).
Rows are processed in chunks, in parallel; a worker writes its rows straight into the
preallocated ``audio.npy`` memmap, flushes them, and only then records the chunk as done
(``.prepare/chunk-NNNNN.json``). A killed run therefore resumes at the first unrecorded chunk
and ends byte-identical to an uninterrupted one. ``COMPLETE`` is written last, atomically.

Bad input never stops the run: a missing, 0-byte, undecodable or too-short mp3 leaves its row
zero, gets that status in index.csv and a line in skipped.csv. "Too short" means shorter than
25 s for the standard 29.125 s clip (the same fraction for other clip lengths): real MTAT clips
decode to ~29.12 s, so a much shorter one is a truncated or damaged file.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

import mtlib
from mtlib import paths
from mtlib.constants import N_TAGS
from mtlib.data.cache import COMPLETE_MARKER, FORMAT_VERSION, INDEX_COLUMNS, INT16_SCALE
from mtlib.data.mtat import folder_split, read_annotations, top_tags
from mtlib.errors import DataError
from mtlib.io import atomic_path, atomic_write_json, atomic_write_text
from mtlib.progress import announce

CLIP_SECONDS = 29.125  # Dieleman & Schrauwen: 10 subclips of 2.9125 s
MIN_SECONDS = 25.0  # shortest decoded clip accepted at CLIP_SECONDS (scaled for other lengths)
CHUNK_ROWS = 32  # rows per unit of work / per durable progress record
STATE_DIR = ".prepare"  # plan.json + chunk-NNNNN.json while a run is unfinished
# Fault injection for the resumability tests: SIGKILL this process after N recorded chunks.
KILL_AFTER_CHUNKS_ENV = "MTLIB_PREPARE_KILL_AFTER_CHUNKS"

_OUTPUT_FILES = ("audio.npy", "index.csv", "labels.npy", "meta.json", "skipped.csv")


class ClipError(DataError):
    """One clip could not be used; ``reason`` is its index.csv status."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def clip_samples_for(sample_rate: int, clip_seconds: float = CLIP_SECONDS) -> int:
    """Samples per cached clip: ``round(clip_seconds * sample_rate)`` (349,500 at 12 kHz)."""
    return int(round(clip_seconds * sample_rate))


@functools.lru_cache(maxsize=8)
def _resampler(orig_hz: int, new_hz: int):
    import torchaudio  # deferred: only decoding needs torch

    # One precomputed windowed-sinc kernel per rate pair, reused for every clip.
    return torchaudio.transforms.Resample(orig_hz, new_hz)


def decode_clip(
    path: str | Path,
    sample_rate: int,
    clip_samples: int,
    min_seconds: float | None = None,
) -> np.ndarray:
    """Decode one mp3 to int16 [clip_samples] at ``sample_rate`` Hz (mono, trimmed/zero-padded).

    Raises :class:`ClipError` with ``reason`` ``missing`` | ``empty`` | ``undecodable`` |
    ``too_short`` (decoded duration < ``min_seconds``; default 25 s scaled by
    clip_samples / (29.125 s * sample_rate)).
    """
    import soundfile as sf
    import torch

    path = Path(path)
    if not path.is_file():
        raise ClipError("missing", f"{path}: mp3 file is missing")
    if path.stat().st_size == 0:
        raise ClipError("empty", f"{path}: mp3 file is empty (0 bytes)")
    try:
        data, file_hz = sf.read(path, dtype="float32")  # [n] for mono (MTAT), [n, channels]
    except Exception as err:  # noqa: BLE001 - libsndfile raises several types for bad files
        detail = getattr(err, "error_string", None) or type(err).__name__
        raise ClipError(
            "undecodable", f"{path}: not a decodable mp3 (libsndfile: {detail})"
        ) from None
    if min_seconds is None:
        min_seconds = MIN_SECONDS * clip_samples / (CLIP_SECONDS * sample_rate)
    seconds = data.shape[0] / file_hz
    if data.shape[0] == 0 or seconds < min_seconds:
        raise ClipError(
            "too_short", f"{path}: decodes to {seconds:.2f} s, expected >= {min_seconds:.2f} s"
        )
    mono = torch.from_numpy(data if data.ndim == 1 else data.mean(axis=1))
    with torch.no_grad():
        if file_hz != sample_rate:
            mono = _resampler(int(file_hz), int(sample_rate))(mono)
        # In place, in float32: round half to even, then saturate to the int16 range.
        pcm = mono[:clip_samples].mul_(INT16_SCALE).round_().clamp_(-32768, 32767).to(torch.int16)
    out = np.zeros(clip_samples, dtype=np.int16)
    out[: len(pcm)] = pcm.numpy()
    return out


# --- chunk work (runs in worker processes) -------------------------------------------------
_OPEN_AUDIO: dict[tuple[str, int], np.memmap] = {}  # per process, keyed by path and inode


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # parallelism comes from processes; avoid oversubscription


def _audio_rw(audio_path: str) -> np.memmap:
    # The inode is part of the key: a fresh start replaces audio.npy by a new file, and a
    # mapping of the old one must never receive rows.
    key = (audio_path, os.stat(audio_path).st_ino)
    if key not in _OPEN_AUDIO:
        _OPEN_AUDIO.clear()
        _OPEN_AUDIO[key] = np.load(audio_path, mmap_mode="r+")
    return _OPEN_AUDIO[key]


def _process_chunk(task: dict) -> tuple[int, list[str], list[str]]:
    """Decode the chunk's rows into audio.npy, flush, then record the chunk as done."""
    audio = _audio_rw(task["audio_path"])
    statuses, reasons = [], []
    for row, mp3 in zip(task["rows"], task["mp3_files"], strict=True):
        try:
            audio[row] = decode_clip(mp3, task["sample_rate"], task["clip_samples"],
                                     task["min_seconds"])
            statuses.append("ok")
            reasons.append("")
        except ClipError as err:
            audio[row] = 0  # a row half-written by a killed run must end up zero
            statuses.append(err.reason)
            reasons.append(str(err).split(": ", 1)[-1])  # without the absolute path
    audio.flush()  # the rows are on disk before the chunk is marked done
    record = {"chunk": task["chunk"], "rows": task["rows"], "status": statuses, "reason": reasons}
    atomic_write_json(Path(task["state_dir"]) / f"chunk-{task['chunk']:05d}.json", record)
    return task["chunk"], statuses, reasons


# --- the driver ----------------------------------------------------------------------------
def prepare_mtat(
    root: str | Path,
    sample_rate: int,
    dataset: str | None = None,
    n_tags: int = N_TAGS,
    workers: int | None = None,
    progress: bool = True,
    *,
    out: str | Path | None = None,
    clip_seconds: float = CLIP_SECONDS,
    chunk_rows: int = CHUNK_ROWS,
) -> Path:
    """Prepare the cache of the MTAT-format folder ``root`` at ``sample_rate`` Hz; return its dir.

    ``dataset`` defaults to the root folder's name; the cache goes to
    ``paths.prepared_dir(dataset, sample_rate)`` unless ``out`` is given. ``n_tags``: top-N
    tags kept in labels.npy. ``workers``: processes (default: all cores; 1 = in-process).
    Idempotent (a complete cache with the same inputs returns at once) and resumable.
    ``clip_seconds`` (default 29.125) and ``chunk_rows`` exist for tests and benchmarks.
    Workers are spawned processes: a script calling this with ``workers > 1`` needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    if sample_rate <= 0:
        raise DataError(f"sample rate must be a positive number of Hz, got {sample_rate}")
    if chunk_rows < 1 or clip_seconds <= 0:
        raise DataError(f"chunk_rows must be >= 1 and clip_seconds > 0, got {chunk_rows}, "
                        f"{clip_seconds}")
    root = Path(root).resolve()
    annotations = read_annotations(root)
    tags = top_tags(annotations, n_tags)
    labels = annotations[tags].to_numpy(dtype=np.uint8)
    dataset = dataset or root.name
    out = Path(out) if out is not None else paths.prepared_dir(dataset, sample_rate)
    clip_samples = clip_samples_for(sample_rate, clip_seconds)
    min_seconds = MIN_SECONDS * clip_seconds / CLIP_SECONDS
    n_clips = len(annotations)
    identity = {
        "format_version": FORMAT_VERSION,
        "dataset": dataset,
        "source_root": str(root),
        "annotations_blob_id": annotations.attrs["blob_id"],
        "sample_rate": int(sample_rate),
        "clip_samples": clip_samples,
        "clip_seconds": clip_samples / sample_rate,
        "min_seconds": min_seconds,
        "tags": tags,
        "n_clips": n_clips,
    }
    if (out / COMPLETE_MARKER).is_file():
        _check_same_inputs(out, identity)
        _remove_state(out)  # leftovers of a run killed after COMPLETE
        return out

    state = out / STATE_DIR
    plan = {**identity, "chunk_rows": int(chunk_rows)}
    _start_or_resume(out, plan, (n_clips, clip_samples))
    chunks = [list(range(s, min(s + chunk_rows, n_clips))) for s in range(0, n_clips, chunk_rows)]
    done = _recorded_chunks(state, len(chunks))
    mp3_files = [str(root / p) for p in annotations["mp3_path"]]
    tasks = [
        {
            "chunk": k,
            "rows": rows,
            "mp3_files": [mp3_files[r] for r in rows],
            "audio_path": str(out / "audio.npy"),
            "state_dir": str(state),
            "sample_rate": int(sample_rate),
            "clip_samples": clip_samples,
            "min_seconds": min_seconds,
        }
        for k, rows in enumerate(chunks)
        if k not in done
    ]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks) or 1))
    from mtlib.progress import tqdm

    bar = tqdm(total=n_clips, initial=n_clips - sum(len(t["rows"]) for t in tasks),
               unit="clip", desc=f"prepare {dataset} @ {sample_rate} Hz", disable=not progress)
    kill_after = int(os.environ.get(KILL_AFTER_CHUNKS_ENV, "0") or 0)
    n_recorded = 0
    with bar:
        for _chunk, statuses, _ in _run_tasks(tasks, workers):
            bar.update(len(statuses))
            n_recorded += 1
            if kill_after and n_recorded >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)  # simulate a hard kill (tests only)

    records = _recorded_chunks(state, len(chunks))
    if len(records) != len(chunks):
        missing = sorted(set(range(len(chunks))) - set(records))
        raise DataError(f"{state}: chunks {missing[:5]} were not recorded; rerun to resume")
    _write_outputs(out, annotations, labels, records, identity)
    _remove_state(out)
    return out


def _run_tasks(tasks: list[dict], workers: int) -> Iterator[tuple[int, list[str], list[str]]]:
    if workers == 1:
        try:
            for task in tasks:
                yield _process_chunk(task)
        finally:
            _OPEN_AUDIO.clear()  # release the mapping in this (long-lived) process
        return
    # spawn, not fork: forking a process that has used torch's thread pool can deadlock.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_worker_init) as pool:
        pending = set()
        queue = list(tasks)
        try:
            while queue or pending:
                while queue and len(pending) < 2 * workers:  # bounded queue: fast cancel
                    pending.add(pool.submit(_process_chunk, queue.pop(0)))
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _check_same_inputs(out: Path, identity: dict) -> None:
    meta_path = out / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{meta_path}: unreadable metadata of a complete cache ({err})") from err
    for key in ("source_root", "annotations_blob_id", "sample_rate", "clip_samples", "tags"):
        if meta.get(key) != identity[key]:
            raise DataError(
                f"{out}: already prepared with {key}={meta.get(key)!r}, not {identity[key]!r}; "
                "delete the folder or choose another --dataset name"
            )


def _start_or_resume(out: Path, plan: dict, shape: tuple[int, int]) -> None:
    """Reuse the state of an unfinished run with the same plan; otherwise start afresh."""
    state = out / STATE_DIR
    plan_path = state / "plan.json"
    if plan_path.is_file() and (out / "audio.npy").is_file():
        try:
            same = json.loads(plan_path.read_text(encoding="utf-8")) == json.loads(
                json.dumps(plan)
            )
            audio = np.load(out / "audio.npy", mmap_mode="r")
            same = same and audio.shape == shape and audio.dtype == np.int16
            del audio
        except (OSError, ValueError):
            same = False
        if same:
            return
    # Fresh start: remove only files this module writes, then the plan last.
    out.mkdir(parents=True, exist_ok=True)
    _remove_state(out)
    for name in _OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    with atomic_path(out / "audio.npy") as tmp:
        # Zero-filled (sparse) file; workers fill rows in place.
        np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int16, shape=shape).flush()
    state.mkdir(parents=True, exist_ok=True)
    atomic_write_json(plan_path, plan)


def _recorded_chunks(state: Path, n_chunks: int) -> dict[int, dict]:
    records = {}
    for path in sorted(state.glob("chunk-*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # cannot happen with atomic writes; redo the chunk if it does
        if 0 <= record.get("chunk", -1) < n_chunks:
            records[record["chunk"]] = record
    return records


def _remove_state(out: Path) -> None:
    state = out / STATE_DIR
    if state.is_dir():
        for path in state.iterdir():
            if path.is_file() and (path.name == "plan.json" or path.name.startswith("chunk-")
                                   or path.name.startswith(".")):
                path.unlink()
        try:
            state.rmdir()
        except OSError:
            pass  # something foreign inside; leave it


def _write_outputs(out: Path, annotations: pd.DataFrame, labels: np.ndarray,
                   records: dict[int, dict], identity: dict) -> None:
    n = len(annotations)
    status = [""] * n
    reason = [""] * n
    for record in records.values():
        for row, s, r in zip(record["rows"], record["status"], record["reason"], strict=True):
            status[row], reason[row] = s, r
    index = pd.DataFrame({
        "row": np.arange(n),
        "clip_id": annotations["clip_id"].to_numpy(),
        "mp3_path": annotations["mp3_path"].to_numpy(),
        "split_folder": [folder_split(p) for p in annotations["mp3_path"]],
        "status": status,
        "n_tags_pos": labels.sum(axis=1).astype(np.int64),
    })[INDEX_COLUMNS]
    skipped = index.loc[index["status"] != "ok", ["clip_id", "mp3_path"]].copy()
    skipped["reason"] = [f"{status[i]}: {reason[i]}" for i in skipped.index]
    atomic_write_text(out / "index.csv", index.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "skipped.csv", skipped.to_csv(index=False, lineterminator="\n"))
    with atomic_path(out / "labels.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, labels)  # a file object: np.save would append ".npy" to a temp name
    meta = {**identity, "n_ok": int(sum(s == "ok" for s in status)),
            "mtlib_version": mtlib.__version__}
    atomic_write_json(out / "meta.json", meta)
    atomic_write_text(out / COMPLETE_MARKER, "complete\n")


# --- command line --------------------------------------------------------------------------
def add_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "prepare-mtat",
        help="decode an MTAT-format folder into a fixed-length int16 cache",
        description="Decode every mp3 of an MTAT-format folder, resample it and store "
        "fixed-length int16 clips plus top-N labels under cache/prepared/<dataset>-<sr>/. "
        "Resumable: rerun the same command after an interruption.",
    )
    p.add_argument("--root", required=True, type=Path, help="folder with annotations_final.csv")
    p.add_argument("--sample-rate", required=True, type=int, help="target rate in Hz, e.g. 12000")
    p.add_argument("--dataset", default=None, help="cache name (default: the root folder name)")
    p.add_argument("--n-tags", type=int, default=N_TAGS,
                   help=f"top-N tags to keep (default {N_TAGS})")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = prepare_mtat(args.root, args.sample_rate, dataset=args.dataset, n_tags=args.n_tags,
                       workers=args.workers, progress=not args.no_progress)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    seconds = time.perf_counter() - start
    announce(f"{out}: {meta['n_ok']}/{meta['n_clips']} clips ok, {len(meta['tags'])} tags, "
             f"{meta['clip_samples']} samples at {meta['sample_rate']} Hz ({seconds:.1f} s)")
    if meta["n_ok"] < meta["n_clips"]:
        announce(f"skipped clips and reasons: {out / 'skipped.csv'}")
    return 0


__all__ = ["ClipError", "clip_samples_for", "decode_clip", "prepare_mtat", "add_command",
           "CLIP_SECONDS", "MIN_SECONDS"]
