"""Reading a MagnaTagATune folder: annotations, top-N tags and the train/valid/test splits.

A dataset root holds ``annotations_final.csv`` (tab-separated, every field double-quoted,
header ``"clip_id" <188 tags> "mp3_path"``) and the mp3 folders ``0`` .. ``f``. The stand-in
corpus uses exactly the same layout, so the same reader checks both strictly.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from mtlib.config import SPLITS
from mtlib.constants import N_TAGS, PARTS
from mtlib.data import metadata
from mtlib.errors import DataError

ANNOTATIONS_FILE = "annotations_final.csv"
MTAT_URL = "https://mirg.city.ac.uk/datasets/magnatagatune/"
STANDIN_MARKER = "standin_metadata.json"  # written by the stand-in generator into its root

# git blob ids (``git hash-object``) of the published annotations_final.csv (SOURCES.md).
KNOWN_ANNOTATION_BLOBS: dict[str, str] = {
    "496918feac773267a6badccd11ade3c520a0f69b": "jordipons/musicnn-training aux/mtt",
    "9184db2ab17373995fd21a7f6f52d1e80de92501": "renesemela/masters-thesis-music-autotagging",
}

_FOLDER_PART = {**{c: "train" for c in "0123456789ab"}, "c": "valid", "d": "test", "e": "test",
                "f": "test"}


class AnnotationsBlobWarning(UserWarning):
    """annotations_final.csv differs byte-wise from every published copy."""


def git_blob_id(data: bytes) -> str:
    """The git blob id of ``data``: sha1 of ``b"blob <len>\\0" + data`` (= ``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def annotation_columns() -> list[str]:
    """The 190 expected header fields: clip_id, the 188 tags in file order, mp3_path."""
    return ["clip_id", *metadata.TAGS188, "mp3_path"]


def annotations_path(root: str | Path) -> Path:
    """``ROOT/annotations_final.csv``; DataError if the root or the file is missing."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: MTAT root folder does not exist; expected a folder with {ANNOTATIONS_FILE} "
            f"and mp3 folders 0-f (get it with `mtlib download-mtat {root}` or from {MTAT_URL})"
        )
    path = root / ANNOTATIONS_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: annotations file is missing (get it with `mtlib download-mtat {root}` "
            f"or from {MTAT_URL})"
        )
    return path


def check_annotations_blob(path: Path, data: bytes) -> str:
    """Warn (:class:`AnnotationsBlobWarning`) unless ``data`` is a published copy; return its id."""
    blob = git_blob_id(data)
    if blob not in KNOWN_ANNOTATION_BLOBS:
        known = ", ".join(f"{b} ({src})" for b, src in KNOWN_ANNOTATION_BLOBS.items())
        warnings.warn(
            f"{path}: git blob id {blob} matches no published annotations_final.csv "
            f"(expected one of {known}); results may not compare with the literature",
            AnnotationsBlobWarning,
            stacklevel=3,
        )
    return blob


def read_annotations(root: str | Path, verify_blob: bool | None = None) -> pd.DataFrame:
    """Read and check ``ROOT/annotations_final.csv``.

    Returns a DataFrame with 190 columns in file order: ``clip_id`` (int64), the 188 tags
    (uint8 0/1) and ``mp3_path`` (str, e.g. ``f/artist-album-01-title-30-59.mp3``), one row per
    clip in file order. ``verify_blob`` (default: True unless ROOT holds the stand-in marker
    ``standin_metadata.json``) warns when the bytes are not a published copy. The blob id is
    kept in ``df.attrs["blob_id"]``.
    """
    path = annotations_path(root)
    data = path.read_bytes()
    if verify_blob is None:
        verify_blob = not (Path(root) / STANDIN_MARKER).exists()
    blob = check_annotations_blob(path, data) if verify_blob else git_blob_id(data)
    expected = annotation_columns()
    try:
        df = pd.read_csv(path, sep="\t", quotechar='"', dtype=str, keep_default_na=False)
    except Exception as err:  # noqa: BLE001 - any parse failure is a malformed file
        raise DataError(f"{path}: not a tab-separated table ({err})") from err
    if list(df.columns) != expected:
        found = list(df.columns)
        pairs = zip(found, expected, strict=False)  # lengths may differ: find the first mismatch
        first_bad = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(found), 190))
        got = found[first_bad] if first_bad < len(found) else "<end of header>"
        raise DataError(
            f"{path}: expected {len(expected)} columns \"clip_id\", the 188 tags of "
            f"data/mtat/derived/tags188_column_order.txt, \"mp3_path\"; found {len(found)} "
            f"columns, column {first_bad} is {got!r} instead of "
            f"{expected[first_bad] if first_bad < len(expected) else '<none>'!r}"
        )
    tags = list(metadata.TAGS188)
    values = df[tags]
    ok = values.isin(["0", "1"]).to_numpy()
    if not ok.all():
        r, c = map(int, np.argwhere(~ok)[0])
        raise DataError(
            f"{path}: data row {r + 1}, column {tags[c]!r} is {values.iat[r, c]!r}; "
            "expected 0 or 1"
        )
    try:
        clip_id = df["clip_id"].astype(np.int64)
    except ValueError as err:
        raise DataError(f"{path}: clip_id must be integers ({err})") from err
    if clip_id.duplicated().any():
        dup = int(clip_id[clip_id.duplicated()].iloc[0])
        raise DataError(f"{path}: clip_id {dup} appears more than once; expected unique ids")
    out = pd.DataFrame(values.to_numpy(dtype=np.uint8), columns=tags)
    out.insert(0, "clip_id", clip_id.to_numpy())
    out["mp3_path"] = df["mp3_path"].to_numpy()
    bad_paths = [p for p in out["mp3_path"] if not _is_mp3_path(p)]
    if bad_paths:
        raise DataError(
            f"{path}: mp3_path {bad_paths[0]!r} is not '<folder 0-f>/<name>.mp3'"
        )
    out.attrs["blob_id"] = blob
    return out


def _is_mp3_path(p: str) -> bool:
    folder, _, name = p.partition("/")
    return folder in _FOLDER_PART and name.endswith(".mp3") and "/" not in name


def tag_counts(annotations: pd.DataFrame) -> pd.Series:
    """Positive count per tag (index = the 188 tags in column order)."""
    return annotations[list(metadata.TAGS188)].sum(axis=0).astype(np.int64)


def top_tags(annotations: pd.DataFrame, n: int = N_TAGS) -> list[str]:
    """The ``n`` most frequent tags, most frequent first; tags with no positives are ignored.

    Ties are broken by the published frequency order (keunwoochoi ``sorted_tags.cP``), which
    reproduces ``split/tags.npy`` exactly on the real MTAT (metal = female voice = 505,
    no vocal = pop = 995). Fewer than ``n`` tags come back if fewer have positives.
    """
    if n < 1:
        raise DataError(f"n_tags must be >= 1, got {n}")
    counts = tag_counts(annotations)
    rank = {t: i for i, t in enumerate(metadata.sorted_tags188())}
    present = [(-int(c), rank[t], t) for t, c in counts.items() if c > 0]
    if not present:
        raise DataError("annotations have no positive labels at all; expected 0/1 tag columns")
    return [t for _, _, t in sorted(present)[:n]]


def folder_split(mp3_path: str) -> str:
    """Dieleman & Schrauwen's folder split: 0-b -> train, c -> valid, d-f -> test."""
    part = _FOLDER_PART.get(str(mp3_path)[:1]) if "/" in str(mp3_path) else None
    if part is None:
        raise DataError(f"mp3_path {mp3_path!r}: expected '<folder 0-f>/<name>.mp3'")
    return part


def split_mask(
    mp3_paths: Sequence[str],
    split: str,
    part: str,
    n_pos: Iterable[int] | None = None,
    require_tag: bool = False,
) -> np.ndarray:
    """Boolean mask [len(mp3_paths)] of the clips in ``part`` of ``split``.

    ``"dieleman"``: the folder split. ``"standard"``: the shipped Lee et al. lists; DataError
    if no path belongs to them (e.g. a stand-in corpus with its own file names).
    ``require_tag`` keeps only clips with ``n_pos > 0`` (positive top-N tags per clip).
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if part not in PARTS:
        raise DataError(f"unknown split part {part!r}; valid: {', '.join(PARTS)}")
    mp3_paths = [str(p) for p in mp3_paths]
    if split == "dieleman":
        mask = np.array([folder_split(p) == part for p in mp3_paths], dtype=bool)
    else:
        lists = metadata.standard_split_paths()
        known = set().union(*lists.values())
        if not any(p in known for p in mp3_paths):
            raise DataError(
                "split 'standard' needs MTAT's own mp3 paths (data/mtat/MTAT_split lists), but "
                "none of this dataset's paths are in them; use split 'dieleman'"
            )
        wanted = set(lists[part])
        mask = np.array([p in wanted for p in mp3_paths], dtype=bool)
    if require_tag:
        if n_pos is None:
            raise DataError("require_tag=True needs the positive-tag counts n_pos")
        mask &= np.asarray(list(n_pos)) > 0
    return mask
