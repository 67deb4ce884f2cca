"""Loaders for the real MagnaTagATune metadata shipped in ``data/mtat`` (see its SOURCES.md).

No audio is involved: these are the published tag order, split lists and label matrices that
the report compares against. Every loader raises :class:`~mtlib.errors.DataError` naming the
shipped file when it is missing or malformed.
"""

from __future__ import annotations

import functools
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mtlib import paths
from mtlib.constants import N_TAGS, PARTS
from mtlib.errors import DataError

# clip_ids of the three MTAT mp3 files that are 0 bytes long (all in train folders 6, 8, 9).
EMPTY_MP3_CLIP_IDS: tuple[int, ...] = (35644, 55753, 57881)

N_ANNOTATION_ROWS = 25_863  # data rows of the real annotations_final.csv


def _shipped(relative: str) -> Path:
    path = paths.shipped_mtat_dir() / relative
    if not path.is_file():
        raise DataError(f"{path}: shipped MTAT metadata file is missing (see data/mtat/SOURCES.md)")
    return path


def _load_pickle(relative: str) -> object:
    path = _shipped(relative)
    try:
        with open(path, "rb") as f:
            # Python-2 pickles of str lists; latin1 maps their byte strings 1:1.
            return pickle.load(f, encoding="latin1")
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise DataError(f"{path}: expected a Python-2 pickled list ({err})") from err


def _check_part(part: str, valid: tuple[str, ...] = PARTS) -> None:
    if part not in valid:
        raise DataError(f"unknown split part {part!r}; valid: {', '.join(valid)}")


@functools.lru_cache(maxsize=None)
def _tags188() -> tuple[str, ...]:
    path = _shipped("derived/tags188_column_order.txt")
    tags = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    tags = tuple(t for t in tags if t)
    if len(tags) != 188 or len(set(tags)) != 188:
        raise DataError(f"{path}: expected 188 distinct tag names, found {len(tags)}")
    return tags


# The 188 tag columns of annotations_final.csv, in header order.
TAGS188: tuple[str, ...] = _tags188()


@functools.lru_cache(maxsize=None)
def _standard_tags() -> tuple[str, ...]:
    path = _shipped("split/tags.npy")
    tags = tuple(str(t) for t in np.load(path))
    if len(tags) != N_TAGS:
        raise DataError(f"{path}: expected {N_TAGS} tags, found {len(tags)}")
    return tags


def standard_tags() -> list[str]:
    """The standard MTAT top-50 tags in ``split/tags.npy`` order (guitar, classical, ...)."""
    return list(_standard_tags())


@functools.lru_cache(maxsize=None)
def _sorted_tags188() -> tuple[str, ...]:
    tags = _load_pickle("keunwoochoi/sorted_tags.cP")
    if not isinstance(tags, list) or len(tags) != 188:
        raise DataError("keunwoochoi/sorted_tags.cP: expected a list of all 188 tags")
    return tuple(str(t) for t in tags)


def sorted_tags188() -> list[str]:
    """All 188 tags sorted by frequency on the real MTAT (its first 50 == standard_tags())."""
    return list(_sorted_tags188())


@functools.lru_cache(maxsize=None)
def _standard_split_paths() -> dict[str, tuple[str, ...]]:
    out = {}
    for part in PARTS:
        name = f"MTAT_split/{part}_list_pub.cP"
        items = _load_pickle(name)
        if not isinstance(items, list) or not all(str(p).endswith(".npy") for p in items):
            raise DataError(f"{_shipped(name)}: expected a list of '<folder>/<name>.npy' paths")
        # The lists name precomputed feature files; the clip is the mp3 of the same stem.
        out[part] = tuple(str(p)[: -len(".npy")] + ".mp3" for p in items)
    return out


def standard_split_paths() -> dict[str, list[str]]:
    """The standard (Lee et al. / Won et al.) split as mp3 paths.

    Returns ``{"train": [15,244 paths], "valid": [1,529], "test": [4,332]}``, paths like
    ``c/artist-album-01-title-30-59.mp3``, in the published list order.
    """
    return {part: list(p) for part, p in _standard_split_paths().items()}


@functools.lru_cache(maxsize=None)
def _standard_split_clips() -> dict[str, tuple[tuple[int, str], ...]]:
    index = mtt_index()
    clip_id = dict(zip(index["mp3_path"], index["clip_id"].astype(int), strict=True))
    out = {}
    for part, paths_ in _standard_split_paths().items():
        unknown = [p for p in paths_ if p not in clip_id]
        if unknown:
            raise DataError(
                f"MTAT_split/{part}_list_pub.cP: {len(unknown)} paths are not in "
                f"musicnn-training/index_mtt.tsv (first: {unknown[0]!r})"
            )
        out[part] = tuple((int(clip_id[p]), p) for p in paths_)
    return out


def standard_split_clips() -> dict[str, list[tuple[int, str]]]:
    """The standard split as ``(clip_id, mp3_path)`` pairs, in the published list order.

    Same entries as :func:`standard_split_paths`; each clip_id is the one
    ``index_mtt.tsv`` (= the real annotations_final.csv) gives that mp3 path.
    """
    return {part: list(c) for part, c in _standard_split_clips().items()}


def _camel_to_tag(name: str) -> str:
    # top50_tags.txt writes "noVocals", "femaleVoice"; the annotations write "no vocals".
    return re.sub(r"([A-Z])", r" \1", name).lower()


def standard_label_matrix(part: str) -> tuple[list[str], np.ndarray]:
    """Labels of the published standard valid/test lists.

    Returns ``(mp3 paths [n], labels uint8 [n, 50])`` with columns in :func:`standard_tags`
    order. The shipped ``y_*_pub.npy`` follow ``top50_tags.txt``, which swaps *metal* and
    *female voice*; the columns are reordered by name here. ``y_train_pub.npy`` is not shipped,
    so ``part`` must be ``"valid"`` or ``"test"``.
    """
    _check_part(part, ("valid", "test"))
    path = _shipped(f"MTAT_split/y_{part}_pub.npy")
    y = np.load(path)
    order_path = _shipped("MTAT_split/top50_tags.txt")
    names = [_camel_to_tag(t) for t in order_path.read_text().split() if t.strip()]
    tags = standard_tags()
    if sorted(names) != sorted(tags):
        raise DataError(f"{order_path}: expected the {N_TAGS} standard tags, found {names}")
    paths_ = standard_split_paths()[part]
    if y.shape != (len(paths_), N_TAGS):
        raise DataError(f"{path}: expected shape ({len(paths_)}, {N_TAGS}), found {y.shape}")
    columns = [names.index(t) for t in tags]
    return paths_, y[:, columns].astype(np.uint8)


def top50_tag_counts() -> pd.DataFrame:
    """Per-tag positive counts of the standard top-50 on real MTAT (derived/top50_tag_counts.tsv).

    Columns: tag, all_25860 (all clips with audio), train_0b, valid_c, test_def (folder split).
    Rows in :func:`standard_tags` order.
    """
    path = _shipped("derived/top50_tag_counts.tsv")
    df = pd.read_csv(path, sep="\t", comment="#")
    expected = ["idx", "tag", "all_25860", "train_0b", "valid_c", "test_def"]
    if list(df.columns) != expected or len(df) != N_TAGS:
        raise DataError(f"{path}: expected {N_TAGS} rows with columns {expected}")
    return df.drop(columns="idx").reset_index(drop=True)


def mtt_index() -> pd.DataFrame:
    """clip_id and mp3_path of all 25,863 rows of the real annotations_final.csv, in file order."""
    path = _shipped("musicnn-training/index_mtt.tsv")
    df = pd.read_csv(path, sep="\t", header=None, names=["clip_id", "mp3_path"])
    if len(df) != N_ANNOTATION_ROWS:
        raise DataError(f"{path}: expected {N_ANNOTATION_ROWS} rows, found {len(df)}")
    return df


def gt_labels(part: str) -> tuple[np.ndarray, np.ndarray]:
    """Top-50 labels of *all* clips of folder c (``"valid"``) or d-f (``"test"``).

    From musicnn-training ``{val,test}_gt_mtt.tsv``. Returns ``(clip_ids int64 [n],
    labels uint8 [n, 50])``, columns in :func:`standard_tags` order (= output_labels_mtt.txt).
    """
    _check_part(part, ("valid", "test"))
    path = _shipped(f"musicnn-training/{'val' if part == 'valid' else 'test'}_gt_mtt.tsv")
    ids, rows = [], []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        clip_id, values = line.split("\t")
        ids.append(int(clip_id))
        rows.append([float(v) for v in values.strip("[] ").split(",")])
    labels = np.asarray(rows, dtype=np.float64)
    if labels.ndim != 2 or labels.shape[1] != N_TAGS:
        raise DataError(f"{path}: expected 'clip_id<TAB>[{N_TAGS} floats]' lines")
    return np.asarray(ids, dtype=np.int64), labels.astype(np.uint8)
