"""Tiny MTAT-format datasets for tests: annotations_final.csv + short mp3s, and prepared caches.

``write_mtat_fixture`` writes a folder in MTAT's exact on-disk layout (all 188 quoted columns,
folders 0-f) with a few deliberately bad files; ``write_prepared_fixture`` also runs
``prepare_mtat`` on it and returns the opened :class:`~mtlib.data.cache.ClipCache`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from mtlib.data import metadata

FOLDERS = "0123456789abcdef"
# The real path and clip id of one of the three 0-byte MTAT mp3s.
EMPTY_CLIP = (35644, "6/norine_braun-now_and_zen-08-gently-117-146.mp3")


@dataclass(frozen=True)
class BadFile:
    clip_id: int
    mp3_path: str
    status: str  # the index.csv status prepare_mtat must give it


BAD_FILES = (
    BadFile(*EMPTY_CLIP, "empty"),
    BadFile(90001, "7/fixture_corrupt-not_audio-01-noise-0-29.mp3", "undecodable"),
    BadFile(90002, "a/fixture_truncated-cut_short-01-part-0-29.mp3", "too_short"),
    BadFile(90003, "b/fixture_missing-no_file-01-gone-0-29.mp3", "missing"),
)
# (folder, k) of good clips written with no tag at all (for require_tag tests).
UNTAGGED = {("1", 1), ("c", 1), ("e", 1)}


def _quoted(fields) -> str:
    return "\t".join(f'"{f}"' for f in fields)


def _signal(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    f1, f2 = rng.uniform(110, 1800, size=2)
    x = 0.3 * np.sin(2 * np.pi * f1 * t) + 0.15 * np.sin(2 * np.pi * f2 * t)
    x += 0.02 * rng.standard_normal(t.shape)
    return x.astype(np.float32)


def write_mtat_fixture(
    root: str | Path,
    n_clips_per_folder: int = 2,
    seconds: float = 3.0,
    sr: int = 16000,
    seed: int = 0,
    bad_files: bool = True,
) -> Path:
    """Write a tiny MTAT-format dataset at ``root`` and return ``root``.

    16 folders x ``n_clips_per_folder`` good mono mp3s of ``seconds`` s at ``sr`` Hz, in
    annotations row order folder by folder. Tags cycle through the 50 standard tags (3 per
    clip, plus sometimes one non-top-50 tag), so with >= 2 clips per folder every standard tag
    has a positive; the good clips (folder, 1) of folders 1, c and e have no tag. With
    ``bad_files`` four extra rows follow (see ``BAD_FILES``): a 0-byte mp3 (clip_id 35644, the
    real empty MTAT file), a corrupt file, a truncated mp3 (decodes far too short) and a row
    whose mp3 does not exist.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    top50 = metadata.standard_tags()
    others = [t for t in metadata.TAGS188 if t not in set(top50)]
    rows: list[tuple[int, str, set[str]]] = []
    clip_id = 1
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
        for k in range(n_clips_per_folder):
            mp3 = f"{folder}/fixture_artist_{folder}-fixture_album-{k + 1:02d}-track-0-29.mp3"
            sf.write(root / mp3, _signal(rng, seconds, sr), sr, format="MP3")
            i = len(rows)
            tags = {top50[(3 * i + j) % 50] for j in range(3)}
            if rng.random() < 0.3:
                tags.add(others[int(rng.integers(len(others)))])
            if (folder, k) in UNTAGGED:
                tags = set()
            rows.append((clip_id, mp3, tags))
            clip_id += 1
    if bad_files:
        for j, bad in enumerate(BAD_FILES):
            path = root / bad.mp3_path
            (root / bad.mp3_path[0]).mkdir(parents=True, exist_ok=True)
            if bad.status == "empty":
                path.write_bytes(b"")
            elif bad.status == "undecodable":
                path.write_bytes(b"this is not an mp3 file\n" * 64)
            elif bad.status == "too_short":
                sf.write(path, _signal(rng, seconds, sr), sr, format="MP3")
                data = path.read_bytes()
                path.write_bytes(data[: len(data) // 2])  # about half the duration
            rows.append((bad.clip_id, bad.mp3_path, {top50[j], top50[j + 10]}))
    lines = [_quoted(["clip_id", *metadata.TAGS188, "mp3_path"])]
    for cid, mp3, tags in rows:
        lines.append(_quoted([cid, *("1" if t in tags else "0" for t in metadata.TAGS188), mp3]))
    (root / "annotations_final.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_prepared_fixture(
    base: str | Path,
    sample_rate: int = 12000,
    n_clips_per_folder: int = 2,
    clip_seconds: float = 12.0,
    seed: int = 0,
    bad_files: bool = True,
    n_tags: int = 50,
    workers: int = 1,
    dataset: str | None = None,
):
    """Write a fixture dataset under ``base/mtat`` and prepare it into ``base/prepared``.

    With ``dataset`` the cache goes to ``paths.prepared_dir(dataset, sample_rate)`` instead,
    so ``open_cache(dataset, sample_rate)`` (and a RunConfig naming it) finds it.
    Returns the opened ClipCache (``clip_samples = round(clip_seconds * sample_rate)``). The
    default 12 s clips are the shortest length the default Dieleman CNN accepts (10 subclips
    through conv/pool stacks); pass ``clip_seconds=29.125`` for the real MTAT clip length.
    Reuses an existing identical cache, so calling it twice with the same base is cheap.
    """
    from mtlib.data.cache import ClipCache
    from mtlib.data.mtat import AnnotationsBlobWarning
    from mtlib.data.prepare import prepare_mtat

    base = Path(base)
    root = base / "mtat"
    if not (root / "annotations_final.csv").is_file():
        # A little longer than the clip: every good clip decodes to a full-length row.
        write_mtat_fixture(root, n_clips_per_folder, clip_seconds + 0.25, 16000, seed, bad_files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationsBlobWarning)  # not the published csv
        out = prepare_mtat(root, sample_rate, dataset=dataset or "fixture", n_tags=n_tags,
                           workers=workers, progress=False, clip_seconds=clip_seconds,
                           out=None if dataset else base / "prepared" / f"fixture-{sample_rate}")
    return ClipCache.open(out)
