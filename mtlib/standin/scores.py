"""Real scores from music21's bundled corpus, reduced to cached note lists.

Five score families feed the stand-in corpus:

- ``chorale``: Bach chorales (4 voices);
- ``polyphony``: Palestrina mass movements (4-6 voices);
- ``quartet``: string-quartet movements by Haydn, Mozart and Beethoven;
- ``fiddle``: single-line fiddle tunes from Ryan's Mammoth Collection;
- ``folk``: single-line folk tunes (Essen collection, O'Neill's Music of Ireland).

The catalogue is built from file names and ABC headers only (no parsing), sorted, so it is
deterministic for a given music21 version. Large works parse slowly (seconds per quartet
movement), so the catalogue keeps short files and every parsed score is cached as a small JSON
note list under ``paths.cache_dir()/"scores"`` (atomic writes; safe across processes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtlib import paths
from mtlib.errors import DataError
from mtlib.io import atomic_write_json

EXTRACT_VERSION = 1  # bump when the note-list extraction changes (invalidates the cache)

# Size limits keep parsing fast (chorales ~0.05-0.1 s, quartet movements <= ~0.5 s).
MAX_BYTES = {"chorale": 8_000, "polyphony": 5_000, "quartet": 21_000}
QUARTET_DIRS = (
    "beethoven/opus18no1", "beethoven/opus59no1", "beethoven/opus59no2", "beethoven/opus59no3",
    "haydn/opus1no1", "haydn/opus74no1", "mozart/k155", "mozart/k156", "mozart/k458",
    "mozart/k80",
)
ARTISTS = {
    "bach": "j_s_bach", "palestrina": "palestrina", "beethoven": "beethoven",
    "haydn": "haydn", "mozart": "mozart", "ryansMammoth": "ryans_mammoth",
    "essenFolksong": "essen_folksong", "oneills1850": "oneills_1850",
}


@dataclass(frozen=True)
class ScoreRef:
    """One score of the catalogue (no notes): where it is and how clips name it.

    ``path`` is relative to music21's corpus folder; ``number`` selects one tune of a
    multi-tune ABC file (None for single-work files).
    """

    family: str
    path: str
    number: int | None
    artist: str
    album: str
    title: str

    @property
    def score_id(self) -> str:
        stem = self.path.rsplit(".", 1)[0]
        return stem if self.number is None else f"{stem}#{self.number}"

    def to_dict(self) -> dict:
        return {"id": self.score_id, "family": self.family, "path": self.path,
                "number": self.number, "artist": self.artist, "album": self.album,
                "title": self.title}


@dataclass(frozen=True)
class ScoreNotes:
    """A parsed score. ``notes``: float64 [n, 4] = onset (quarters), duration (quarters),
    MIDI pitch, voice (0 = highest voice); sorted by onset. ``bar_q``: quarters per bar;
    ``length_q``: total length in quarters (whole bars)."""

    ref: ScoreRef
    notes: np.ndarray
    n_voices: int
    bar_q: float
    length_q: float


def slug(text: str, max_len: int = 40) -> str:
    """MTAT-style file-name part: lowercase ASCII, runs of other characters -> "_"."""
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out[:max_len].strip("_") or "untitled"


def music21_version() -> str:
    import music21

    return music21.__version__


def _corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def _rel(path: Path, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def _single_work_refs(root: Path, composer: str, family: str) -> list[ScoreRef]:
    from music21 import corpus

    refs = []
    for p in sorted(corpus.getComposer(composer), key=str):
        rel = _rel(p, root)
        size = Path(p).stat().st_size
        if family == "chorale":
            ok = rel.endswith(".mxl") and Path(rel).name.startswith("bwv")
        elif family == "polyphony":
            ok = rel.endswith(".krn")
        elif family == "quartet":
            ok = rel.endswith(".mxl") and any(rel.startswith(d + "/") for d in QUARTET_DIRS)
        else:  # fiddle: one tune per file
            ok = rel.endswith(".abc")
        if not ok or size > MAX_BYTES.get(family, 1 << 30):
            continue
        stem = Path(rel).stem
        if family == "chorale":
            album, title = "chorales", stem
        elif family == "polyphony":
            album, title = "masses", stem
        elif family == "quartet":
            album, title = f"string_quartet_{Path(rel).parent.name}", stem
        else:
            album, title = "fiddle_tunes", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)
        refs.append(ScoreRef(family, rel, None, ARTISTS[composer], slug(album), slug(title)))
    return refs


_ABC_TUNE = re.compile(r"^X:\s*(\d+)\s*$", re.M)
_ABC_TITLE = re.compile(r"^T:\s*(.*?)\s*$", re.M)


def _abc_tune_refs(root: Path, composer: str) -> list[ScoreRef]:
    from music21 import corpus

    refs = []
    for p in sorted(corpus.getComposer(composer), key=str):
        rel = _rel(p, root)
        text = Path(p).read_text(encoding="latin-1")
        starts = list(_ABC_TUNE.finditer(text))
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            title = _ABC_TITLE.search(text, m.end(), end)
            refs.append(ScoreRef(
                "folk", rel, int(m.group(1)), ARTISTS[composer], slug(Path(rel).stem),
                slug(title.group(1) if title else f"tune {m.group(1)}"),
            ))
    return refs


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, tuple[ScoreRef, ...]]:
    """Every usable score, by family, in a fixed order (file path, then tune number)."""
    root = _corpus_root()
    fams: dict[str, list[ScoreRef]] = {
        "chorale": _single_work_refs(root, "bach", "chorale"),
        "polyphony": _single_work_refs(root, "palestrina", "polyphony"),
        "quartet": [r for c in ("beethoven", "haydn", "mozart")
                    for r in _single_work_refs(root, c, "quartet")],
        "fiddle": _single_work_refs(root, "ryansMammoth", "fiddle"),
        "folk": _abc_tune_refs(root, "essenFolksong") + _abc_tune_refs(root, "oneills1850"),
    }
    for fam, refs in fams.items():
        if not refs:
            raise DataError(f"music21 corpus at {root}: no {fam} scores found; expected the "
                            "corpus bundled with music21 (pip install music21)")
    return {fam: tuple(sorted(refs, key=lambda r: (r.path, r.number or 0)))
            for fam, refs in fams.items()}


def cache_path(ref: ScoreRef) -> Path:
    """``cache/scores/<slug of id>-<hash>.json``; the hash covers music21 and EXTRACT_VERSION."""
    key = f"{ref.score_id}|music21={music21_version()}|extract={EXTRACT_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return paths.cache_dir() / "scores" / f"{slug(ref.score_id, 60)}-{digest}.json"


def load_notes(ref: ScoreRef) -> ScoreNotes:
    """The score's note list, parsed once and cached (see module docstring)."""
    path = cache_path(ref)
    if path.is_file():
        try:
            return _from_json(ref, json.loads(path.read_text()))
        except (ValueError, KeyError):
            path.unlink(missing_ok=True)  # a damaged cache entry is parsed again
    data = _parse(ref)
    atomic_write_json(path, data)
    return _from_json(ref, data)


def _from_json(ref: ScoreRef, data: dict) -> ScoreNotes:
    notes = np.asarray(data["notes"], dtype=np.float64).reshape(-1, 4)
    return ScoreNotes(ref, notes, int(data["n_voices"]), float(data["bar_q"]),
                      float(data["length_q"]))


def _parse(ref: ScoreRef) -> dict:
    from music21 import converter, harmony, meter

    source = _corpus_root() / ref.path
    kwargs = {} if ref.number is None else {"number": ref.number}
    try:
        # storePickle=False: music21 would otherwise write its own pickle cache to /tmp.
        score = converter.parse(source, forceSource=True, storePickle=False, **kwargs)
    except Exception as err:  # noqa: BLE001 - music21 raises many types for bad input
        raise DataError(f"{source} (tune {ref.number}): music21 cannot parse it ({err})") from err
    parts = list(getattr(score, "parts", [])) or [score]
    voices = []
    for part in parts:
        rows = _part_rows(part, harmony.Harmony)
        if rows:
            voices.append(np.asarray(rows))
    if not voices:
        raise DataError(f"{source} (tune {ref.number}): no notes")
    voices.sort(key=lambda v: -float(np.mean(v[:, 2])))  # voice 0 = highest
    notes = np.concatenate([np.column_stack([v, np.full(len(v), i)])
                            for i, v in enumerate(voices)])
    notes[:, 0] -= notes[:, 0].min()
    notes = notes[np.lexsort((notes[:, 3], notes[:, 2], notes[:, 0]))]
    ts = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
    bar_q = float(ts.barDuration.quarterLength) if ts is not None else 4.0
    if not 1.0 <= bar_q <= 8.0:
        bar_q = 4.0
    end = float(np.max(notes[:, 0] + notes[:, 1]))
    return {
        "id": ref.score_id,
        "music21": music21_version(),
        "extract_version": EXTRACT_VERSION,
        "n_voices": len(voices),
        "bar_q": bar_q,
        "length_q": float(np.ceil(end / bar_q) * bar_q),
        "notes": np.round(notes, 4).tolist(),
    }


def _part_rows(part, harmony_cls) -> list[list[float]]:
    """[onset, duration, pitch] rows of one part, tied notes merged into one.

    Merging ties by hand is ~10x faster than music21's ``stripTies`` on long parts.
    """
    flat = part.flatten()
    rows: list[list[float]] = []
    open_ties: dict[float, int] = {}  # MIDI pitch -> row of the note its tie started
    for n in flat.notes:
        if isinstance(n, harmony_cls) or n.duration.isGrace:
            continue
        ql = float(n.quarterLength)
        if ql <= 0:
            continue
        onset = float(n.getOffsetBySite(flat))
        components = n.notes if n.isChord else (n,)
        for c in components:
            midi = float(c.pitch.midi)
            tie = (c.tie or n.tie)
            kind = tie.type if tie is not None else None
            if kind in ("stop", "continue") and midi in open_ties:
                row = rows[open_ties[midi]]
                row[1] = onset + ql - row[0]
                if kind == "stop":
                    del open_ties[midi]
                continue
            rows.append([onset, ql, midi])
            if kind == "start":
                open_ties[midi] = len(rows) - 1
    return rows
