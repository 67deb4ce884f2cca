"""The prepared audio cache: decoded, resampled, fixed-length int16 clips plus labels.

Layout of ``paths.prepared_dir(dataset, sample_rate)`` (written by :mod:`mtlib.data.prepare`):

- ``audio.npy``: int16 [n_clips, clip_samples]; row i = index row i; skipped rows are zero.
  float = int16 / 32768, in [-1, 1).
- ``index.csv``: row, clip_id, mp3_path, split_folder, status, n_tags_pos
- ``labels.npy``: uint8 [n_clips, n_tags]; column j = meta ``tags[j]``
- ``meta.json``: format_version, dataset, source_root, sample_rate, clip_samples, ...
- ``skipped.csv``: clip_id, mp3_path, reason
- ``COMPLETE``: written last; a folder without it is never opened.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mtlib import paths
from mtlib.data.mtat import split_mask
from mtlib.errors import DataError

FORMAT_VERSION = 1
COMPLETE_MARKER = "COMPLETE"
INDEX_COLUMNS = ["row", "clip_id", "mp3_path", "split_folder", "status", "n_tags_pos"]
STATUSES = ("ok", "empty", "undecodable", "too_short", "missing")
INT16_SCALE = 32768.0


class ClipCache:
    """Read access to one prepared cache folder (see the module docstring for the layout).

    Attributes: ``path`` (Path), ``audio`` (np.memmap int16 [n_clips, clip_samples]),
    ``labels`` (uint8 [n_clips, n_tags]), ``tags`` (list[str]), ``index`` (DataFrame),
    ``sample_rate`` (Hz), ``clip_samples`` (samples per clip), ``meta`` (dict).
    """

    def __init__(self, path: Path, meta: dict, index: pd.DataFrame, labels: np.ndarray):
        self.path = path
        self.meta = meta
        self.index = index
        self.labels = labels
        self.tags: list[str] = list(meta["tags"])
        self.sample_rate = int(meta["sample_rate"])
        self.clip_samples = int(meta["clip_samples"])
        self.audio = self._open_audio()

    # --- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> "ClipCache":
        """Open a complete cache folder; DataError if it is missing, incomplete or inconsistent."""
        path = Path(path)
        if not path.is_dir():
            raise DataError(
                f"{path}: prepared cache folder does not exist; create it with "
                "`mtlib prepare-mtat --root DIR --sample-rate SR`"
            )
        if not (path / COMPLETE_MARKER).is_file():
            raise DataError(
                f"{path}: prepared cache is incomplete (no {COMPLETE_MARKER} marker); rerun "
                "`mtlib prepare-mtat` with the same arguments to finish it"
            )
        meta = _read_meta(path / "meta.json")
        index = _read_index(path / "index.csv", int(meta["n_clips"]))
        labels_path = path / "labels.npy"
        labels = _load_npy(labels_path)
        expected = (int(meta["n_clips"]), len(meta["tags"]))
        if labels.dtype != np.uint8 or labels.shape != expected:
            raise DataError(
                f"{labels_path}: expected uint8 {expected}, found {labels.dtype} {labels.shape}"
            )
        return cls(path, meta, index, labels)

    def _open_audio(self) -> np.memmap:
        audio_path = self.path / "audio.npy"
        audio = _load_npy(audio_path, mmap_mode="r")
        expected = (len(self.index), self.clip_samples)
        if audio.dtype != np.int16 or audio.shape != expected:
            raise DataError(
                f"{audio_path}: expected int16 {expected}, found {audio.dtype} {audio.shape}"
            )
        return audio

    # Pickling (e.g. to DataLoader workers) must not copy the whole memmap: reopen instead.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["audio"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.audio = self._open_audio()

    # --- queries ------------------------------------------------------------------------
    @property
    def n_clips(self) -> int:
        return len(self.index)

    @property
    def clip_seconds(self) -> float:
        return self.clip_samples / self.sample_rate

    def split_rows(self, split: str, part: str, require_tag: bool = False) -> np.ndarray:
        """Rows (int64, ascending) of ``part`` of ``split`` whose clip decoded (status ok).

        ``split``: ``"dieleman"`` (folders 0-b/c/d-f) or ``"standard"`` (shipped Lee et al.
        lists; DataError on a dataset whose paths are not in them). ``require_tag`` keeps only
        clips with at least one positive tag among :attr:`tags`.

        The standard split is resolved by mp3 path (:func:`mtlib.data.mtat.split_mask`): a
        row belongs to ``part`` when its ``mp3_path`` is in the shipped ``part`` list. Listed
        clips the cache does not hold are simply absent, so a subset of MTAT (e.g. a stand-in
        corpus written with ``synth_mtat(..., mtat_ids=True)``, a few dozen of the 21,105
        listed clips) gets exactly its own listed rows; rows in no list (on real MTAT: clips
        without a top-50 tag, and 3 short train clips) are in no part. Only a cache with no
        listed path at all is refused. A part can therefore come back empty on a subset;
        callers that need every part check that themselves.
        """
        mask = split_mask(
            self.index["mp3_path"].tolist(),
            split,
            part,
            n_pos=self.index["n_tags_pos"].to_numpy(),
            require_tag=require_tag,
        )
        mask &= (self.index["status"] == "ok").to_numpy()
        return np.flatnonzero(mask).astype(np.int64)

    def load_float(
        self, rows: Sequence[int] | np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """float32 [len(rows), clip_samples] = int16 / 32768 (exact: a power-of-two scale).

        ``out``: optional float32 array of that shape to fill (a loader's reused batch buffer).
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        shape = (len(rows), self.clip_samples)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif out.shape != shape or out.dtype != np.float32:
            raise ValueError(f"out must be float32 {shape}, got {out.dtype} {out.shape}")
        # Gather the int16 rows first (plain copies from the page cache), then convert in one
        # contiguous ufunc call: measurably faster than converting each memmap row in place.
        gathered = np.empty(shape, dtype=np.int16)
        for i, r in enumerate(rows):
            gathered[i] = self.audio[r]
        np.multiply(gathered, np.float32(1.0 / INT16_SCALE), out=out)
        return out

    def __repr__(self) -> str:
        return (
            f"ClipCache({str(self.path)!r}, n_clips={self.n_clips}, "
            f"sample_rate={self.sample_rate}, clip_samples={self.clip_samples}, "
            f"n_tags={len(self.tags)})"
        )


def open_cache(dataset: str, sample_rate: int) -> ClipCache:
    """Open ``paths.prepared_dir(dataset, sample_rate)``."""
    path = paths.prepared_dir(dataset, sample_rate)
    if not path.exists():
        raise DataError(
            f"{path}: no prepared cache for dataset {dataset!r} at {sample_rate} Hz; create it "
            f"with `mtlib prepare-mtat --root DIR --sample-rate {sample_rate} --dataset {dataset}`"
        )
    return ClipCache.open(path)


# --- helpers ----------------------------------------------------------------------------
_META_KEYS = ("format_version", "dataset", "sample_rate", "clip_samples", "tags", "n_clips")


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: cache metadata file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: expected a JSON object ({err})") from err
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise DataError(f"{path}: missing keys {missing}; expected {list(_META_KEYS)}")
    if meta["format_version"] != FORMAT_VERSION:
        raise DataError(
            f"{path}: cache format_version {meta['format_version']} is not supported (expected "
            f"{FORMAT_VERSION}); delete the folder and rerun `mtlib prepare-mtat`"
        )
    return meta


def _read_index(path: Path, n_clips: int) -> pd.DataFrame:
    try:
        index = pd.read_csv(path, dtype={"mp3_path": str, "split_folder": str, "status": str},
                            keep_default_na=False)
    except FileNotFoundError:
        raise DataError(f"{path}: cache index file is missing") from None
    if list(index.columns) != INDEX_COLUMNS:
        raise DataError(f"{path}: expected columns {INDEX_COLUMNS}, found {list(index.columns)}")
    if len(index) != n_clips or not (index["row"].to_numpy() == np.arange(n_clips)).all():
        raise DataError(f"{path}: expected rows 0..{n_clips - 1} (meta.json n_clips)")
    return index


def _load_npy(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: cache array file is missing") from None
    except ValueError as err:
        raise DataError(f"{path}: not a readable .npy array ({err})") from err
