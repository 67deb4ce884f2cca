"""The plan of a stand-in corpus: every clip's score, recipe, split, file name and labels.

Planning draws no audio, so label statistics can be checked on large samples cheaply.

Order of decisions (all deterministic functions of ``(clips, seed)``):

1. styles: counts proportional to ``STYLE_WEIGHTS`` (largest remainder), shuffled;
2. each clip's recipe (incl. its score family) from its own generator ``(seed, index)``;
3. scores to splits: each family's catalogue is shuffled and dealt to train/valid/test in
   the folder proportions 12:1:3, so a score belongs to exactly one split;
4. clips to splits: clips sorted by style walk through a cycle of the 16 folders, so every
   style spreads over the splits in the folder proportions (and a 48-clip corpus has 36
   train, 3 valid, 9 test clips);
5. each clip takes a score of its family from its split's pool, about ``CLIPS_PER_SCORE``
   clips per score (MTAT: ~4.8 clips per track); all clips of a score share one folder and
   get successive 29-second windows, like MTAT's ``-30-59``, ``-59-88`` names;
6. each clip's annotation (label dropping, synonyms) from a second generator.

With ``mtat_ids=True`` (:func:`plan_corpus`) only steps 4 and 5's file names change:

4'. the clips are dealt to train/valid/test in the proportions of the standard (Lee et al. /
    Won et al.) split lists, 15,244 : 1,529 : 4,332 (:func:`standard_part_counts`: largest
    remainder, at least ``MIN_PART_CLIPS`` per part; 48 clips -> 35/3/10), by the same
    style-stratified walk through an evenly spread cycle of those exact counts;
5'. each clip takes the clip_id and mp3_path of a real MTAT clip of its part's list
    (``data/mtat/MTAT_split``; clip ids from ``index_mtt.tsv``), each entry used once: the
    score still picks the folder (so all clips of a score share one), and the clip takes the
    next entry of a seeded permutation of that folder's list entries (the next folder of the
    part if that one is used up). The names then no longer encode the excerpt start, which
    stays in the recipe (``start_s``) and the metadata.

Scores are dealt to splits as in step 3 either way, so no score spans two splits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from mtlib.constants import PARTS
from mtlib.data import metadata
from mtlib.data.metadata import EMPTY_MP3_CLIP_IDS
from mtlib.errors import DataError
from mtlib.standin import recipes
from mtlib.standin.recipes import SCORE_FAMILIES
from mtlib.standin.scores import ScoreRef, catalogue
from mtlib.standin.vocab import VOCABULARY

GENERATOR_VERSION = "2.0"
CLIPS_PER_SCORE = 4
WINDOW_S = 29  # file-name window length, seconds (MTAT: "30-59")
MAX_START_OFFSET_S = 15  # first window of a score starts 0-15 s into the piece
# A cycle through the 16 folders that spreads valid (c) and test (d-f) evenly.
FOLDER_CYCLE = "0d12c3e45f6789ab"
SPLIT_OF_FOLDER = {**{f: "train" for f in "0123456789ab"}, "c": "valid", "d": "test",
                   "e": "test", "f": "test"}
FOLDERS_OF_SPLIT = {"train": "0123456789ab", "valid": "c", "test": "def"}

MIN_PART_CLIPS = 2  # with mtat_ids: fewest clips in each part of the standard split
# Corpus-level generator purpose of the MTAT entry permutations (mtat_ids only).
MTAT_ENTRY_PURPOSE = 3

# Stream ids of the per-clip generators: np.random.default_rng([seed, index, stream]).
RECIPE_STREAM, LABEL_STREAM, AUDIO_STREAM, START_STREAM = 1, 2, 3, 4


@dataclass(frozen=True)
class ClipPlan:
    """One clip of the corpus. ``recipe`` includes ``start_s`` (excerpt start, seconds)."""

    index: int
    clip_id: int
    split: str
    mp3_path: str
    score: ScoreRef
    recipe: dict
    clean_tags: tuple[str, ...]
    tags: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "clip_id": self.clip_id,
            "split": self.split,
            "mp3_path": self.mp3_path,
            "score": self.score.to_dict(),
            "recipe": self.recipe,
            "clean_tags": list(self.clean_tags),
            "clean_labels": [int(t in self.clean_tags) for t in VOCABULARY],
            "tags": list(self.tags),
        }


def clip_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """The generator of one clip and purpose; independent of every other clip's."""
    return np.random.default_rng([seed, index, stream])


def _plan_rng(seed: int, purpose: int) -> np.random.Generator:
    # Corpus-level draws use index 2**32 + purpose, far from any clip index.
    return np.random.default_rng([seed, 2**32 + purpose, 0])


def check_args(clips: int, seed: int) -> None:
    if not isinstance(clips, (int, np.integer)) or clips < 1:
        raise DataError(f"clips must be a positive integer, got {clips!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")


def style_counts(clips: int) -> dict[str, int]:
    """Clips per style: ``clips * STYLE_WEIGHTS`` rounded by largest remainder."""
    names = recipes.style_names()
    w = np.array([recipes.STYLE_WEIGHTS[n] for n in names])
    exact = clips * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: clips - counts.sum()]] += 1
    return dict(zip(names, counts.tolist(), strict=True))


def standard_part_counts(clips: int) -> dict[str, int]:
    """Clips per part of an ``mtat_ids`` corpus: proportional to the standard list sizes.

    Largest remainder over 15,244 / 1,529 / 4,332, then any part below ``MIN_PART_CLIPS``
    is topped up from the largest part. DataError unless
    ``3 * MIN_PART_CLIPS <= clips <= 21,105`` (each list entry is used at most once).
    """
    sizes = {part: len(p) for part, p in metadata.standard_split_paths().items()}
    total = sum(sizes.values())
    if not isinstance(clips, (int, np.integer)) or not (
        len(PARTS) * MIN_PART_CLIPS <= clips <= total
    ):
        raise DataError(
            f"a stand-in corpus with MTAT ids needs {len(PARTS) * MIN_PART_CLIPS} to {total} "
            f"clips (the standard split lists hold {total}), got {clips!r}"
        )
    exact = {part: clips * sizes[part] / total for part in PARTS}
    counts = {part: int(math.floor(exact[part])) for part in PARTS}
    by_remainder = sorted(PARTS, key=lambda part: -(exact[part] - counts[part]))
    for part in by_remainder[: clips - sum(counts.values())]:
        counts[part] += 1
    for part in PARTS:
        while counts[part] < MIN_PART_CLIPS:
            counts[max(PARTS, key=lambda q: counts[q])] -= 1
            counts[part] += 1
    return counts


def _part_cycle(counts: dict[str, int]) -> list[str]:
    """``sum(counts)`` part names, ``counts[p]`` of each, every part spread evenly."""
    keys = [((k + 0.5) / n, PARTS.index(part), part)
            for part, n in counts.items() for k in range(n)]
    return [part for _, _, part in sorted(keys)]


def _mtat_entries(seed: int) -> dict[str, list[tuple[int, str]]]:
    """Folder -> the standard-list entries ``(clip_id, mp3_path)`` of that folder, permuted."""
    rng = _plan_rng(seed, MTAT_ENTRY_PURPOSE)
    by_folder: dict[str, list[tuple[int, str]]] = {f: [] for f in SPLIT_OF_FOLDER}
    for part in PARTS:
        for clip_id, path in metadata.standard_split_clips()[part]:
            if SPLIT_OF_FOLDER.get(path[:1]) != part or clip_id in EMPTY_MP3_CLIP_IDS:
                raise DataError(f"standard {part} list: entry {path!r} (clip {clip_id}) breaks "
                                "the folder rule 0-b / c / d-f")
            by_folder[path[0]].append((clip_id, path))
    out = {}
    for folder in sorted(by_folder):  # fixed order of the draws: "0" .. "f"
        entries = by_folder[folder]
        out[folder] = [entries[int(k)] for k in rng.permutation(len(entries))]
    return out


def _take_entry(entries: dict[str, list[tuple[int, str]]], used: dict[str, int],
                folders: str, folder: str) -> tuple[int, str]:
    """The next unused entry of ``folder``, else of the part's next folder with one left."""
    start = folders.index(folder)
    for f in folders[start:] + folders[:start]:
        if used.get(f, 0) < len(entries[f]):
            used[f] = used.get(f, 0) + 1
            return entries[f][used[f] - 1]
    raise DataError(f"standard split: no unused MTAT entry left in folders {folders}")


def clip_ids(clips: int) -> list[int]:
    ids, k = [], 1
    while len(ids) < clips:
        # Skip real MTAT's empty-mp3 ids, so no reader special case for them applies here.
        if k not in EMPTY_MP3_CLIP_IDS:
            ids.append(k)
        k += 1
    return ids


def plan_corpus(clips: int, seed: int, drop_rate: float = recipes.DROP_RATE, *,
                mtat_ids: bool = False) -> list[ClipPlan]:
    """Plan ``clips`` clips for ``seed`` (see the module docstring). No audio, no parsing.

    ``mtat_ids``: clips take real MTAT clip ids and mp3 paths of the standard split lists
    (steps 4' and 5'); False (default) keeps the stand-in's own ids and names.
    """
    check_args(clips, seed)
    if mtat_ids:
        cycle = _part_cycle(standard_part_counts(clips))
    else:
        cycle = [SPLIT_OF_FOLDER[f] for f in FOLDER_CYCLE]
    counts = style_counts(clips)
    styles = [name for name, c in counts.items() for _ in range(c)]
    _plan_rng(seed, 0).shuffle(styles)

    recipes_ = [recipes.sample_recipe(styles[i], clip_rng(seed, i, RECIPE_STREAM))
                for i in range(clips)]

    # Clips to splits: stratified by style.
    key_rng = _plan_rng(seed, 1)
    order = sorted(range(clips), key=lambda i: (styles[i], float(key_rng.random())))
    offset = int(key_rng.integers(len(cycle)))
    split = [""] * clips
    for pos, i in enumerate(order):
        split[i] = cycle[(pos + offset) % len(cycle)]

    # Scores to splits, then clips to scores.
    cat = catalogue()
    pools: dict[tuple[str, str], list[ScoreRef]] = {}
    for f_idx, family in enumerate(SCORE_FAMILIES):
        refs = list(cat[family])
        perm = _plan_rng(seed, 10 + f_idx).permutation(len(refs))
        for pos, r in enumerate(perm):
            part = SPLIT_OF_FOLDER[FOLDER_CYCLE[pos % len(FOLDER_CYCLE)]]
            pools.setdefault((family, part), []).append(refs[int(r)])
    assign_rng = _plan_rng(seed, 2)
    score_of = [None] * clips
    for (family, part), pool in sorted(pools.items()):
        members = [i for i in range(clips) if recipes_[i]["family"] == family and split[i] == part]
        if not members:
            continue
        n_scores = min(len(pool), max(1, math.ceil(len(members) / CLIPS_PER_SCORE)))
        slots = np.arange(len(members)) % n_scores
        assign_rng.shuffle(slots)
        for i, s in zip(members, slots, strict=True):
            score_of[i] = pool[int(s)]

    # Names: every clip of a score in one folder, successive windows.
    album_track = {}
    for family in SCORE_FAMILIES:
        for ref in cat[family]:
            tracks = album_track.setdefault((ref.artist, ref.album), {})
            tracks[ref.score_id] = len(tracks) + 1
    ordinal: dict[str, int] = {}
    if mtat_ids:
        entries, used = _mtat_entries(seed), {}
    else:
        ids = clip_ids(clips)
    plans = []
    used_names: set[str] = set()
    for i in range(clips):
        ref = score_of[i]
        if ref is None:
            raise DataError(f"no {recipes_[i]['family']} score for the {split[i]} split")
        j = ordinal.get(ref.score_id, 0)
        ordinal[ref.score_id] = j + 1
        rng = clip_rng(seed, i, START_STREAM)
        start = WINDOW_S * j + int(rng.integers(0, MAX_START_OFFSET_S + 1))
        folders = FOLDERS_OF_SPLIT[split[i]]
        folder = folders[_stable_hash(ref.score_id, seed) % len(folders)]
        if mtat_ids:
            clip_id, name = _take_entry(entries, used, folders, folder)
        else:
            clip_id = ids[i]
            track = album_track[(ref.artist, ref.album)][ref.score_id]
            stem = f"{ref.artist}-{ref.album}-{track:02d}-{ref.title}"
            name = f"{folder}/{stem}-{start}-{start + WINDOW_S}.mp3"
            while name in used_names:  # two catalogue entries can share artist/album/title
                start += WINDOW_S
                name = f"{folder}/{stem}-{start}-{start + WINDOW_S}.mp3"
            used_names.add(name)
        recipe = dict(recipes_[i], start_s=start)
        clean = recipes.clean_tags(recipe)
        tags = recipes.annotate(clean, clip_rng(seed, i, LABEL_STREAM), drop_rate)
        plans.append(ClipPlan(i, clip_id, split[i], name, ref, recipe, tuple(clean),
                              tuple(tags)))
    return plans


def _stable_hash(text: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}|{text}".encode()).digest()[:8], "big")


def label_matrix(plans: list[ClipPlan], clean: bool = False) -> np.ndarray:
    """uint8 [n_clips, len(VOCABULARY)]: annotated (default) or clean labels."""
    index = {t: j for j, t in enumerate(VOCABULARY)}
    y = np.zeros((len(plans), len(VOCABULARY)), dtype=np.uint8)
    for i, p in enumerate(plans):
        for t in (p.clean_tags if clean else p.tags):
            y[i, index[t]] = 1
    return y
