"""Which "50 most frequent tags" did the report use? Candidate MTAT tag vocabularies as data.

The report (Sec. III) takes **21,355** of MTAT's 25,863 clips, split 72.23 / 7.20 / 20.56 %
(train / valid / test), with "the 50 most frequent tags". Its Sec. VII discusses tags
(``SECTION7_TAGS``: "foreign", "no singer", "no beat", "no piano", "hard", "heavy") that are
not in the standard top-50. They are all in the top-50 that the MTAT literature's
*synonym-merged* tag list gives (keunwoochoi/magnatagatune-list, with "female vocal" merged
into "female"). This module holds:

* the candidate vocabularies with their sources (:data:`VOCABULARIES`, :class:`Vocabulary`)
  and the published synonym maps (:data:`SYNONYM_MAPS`: merged tag -> raw MTAT tags);
* the three clips that Sec. VII names (:data:`SECTION7_CLIPS`), checked against the shipped
  metadata by :func:`section7_clips`;
* :func:`vocabulary_counts` / :func:`compare_vocabularies`: given a real
  ``annotations_final.csv`` (not shipped: see data/mtat/SOURCES.md), the clips per folder part
  with >= 1 tag of a vocabulary (after merging synonyms), so that a user *with* MTAT can test
  which vocabulary and clip filter give 21,355 / 72.23 / 7.20 / 20.56;
* :func:`implied_report_counts`: which integer part sizes the report's percentages allow;
* :func:`section7_tags_in` / :func:`section7_coverage`: which of the six tags a vocabulary has.

What can and cannot be computed from the shipped files is written up in data/mtat/SOURCES.md
("Tag vocabularies and the report's 21,355 clips").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from mtlib.constants import PARTS
from mtlib.data import metadata
from mtlib.errors import DataError
from mtlib.paper.dataset import (
    REPORT_PERCENT,
    REPORT_SPELLING,
    REPORT_TOTAL,
    RULES,
    SECTION7_CLIPS,
    SECTION7_TAGS,
    Section7Clip,
    prints_as,
)

# --- the report ----------------------------------------------------------------------------

# Dieleman & Schrauwen's folder split: first character of mp3_path.
DIELEMAN_FOLDERS: Mapping[str, str] = MappingProxyType(
    {"train": "0123456789ab", "valid": "c", "test": "def"}
)
_HEX = "0123456789abcdef"

# --- vocabularies --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """A tag vocabulary: its tag names, how they map to raw MTAT tags, and where it comes from.

    ``tags`` are the vocabulary's names in the order the source publishes them (``order`` says
    what that order is). ``synonyms`` maps a merged tag to the raw annotation columns it is the
    union of (itself included); a tag without an entry is the raw column of the same name.
    """

    key: str
    tags: tuple[str, ...]
    source: str
    order: str
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "synonyms", MappingProxyType(dict(self.synonyms)))
        _check_synonyms(self.synonyms, self.key)
        _raw_members(self.tags, self.synonyms, where=f"vocabulary {self.key!r}")

    def __len__(self) -> int:
        return len(self.tags)

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, str) and _norm(tag) in self.tags

    def members(self, tag: str) -> tuple[str, ...]:
        """The raw MTAT tags whose union is ``tag`` (``(tag,)`` for an unmerged tag)."""
        tag = _norm(tag)
        if tag not in self.tags:
            raise DataError(f"{tag!r} is not a tag of vocabulary {self.key!r}")
        return tuple(self.synonyms.get(tag, (tag,)))


def _norm(tag: str) -> str:
    # renesemela writes "no_singer", "new_age"; the annotation columns use spaces.
    return str(tag).strip().lower().replace("_", " ")


def _check_synonyms(synonyms: Mapping[str, Sequence[str]], where: str) -> None:
    known = set(metadata.TAGS188)
    seen: dict[str, str] = {}
    for merged, members in synonyms.items():
        if not members or len(set(members)) != len(members):
            raise DataError(f"{where}: synonym group {merged!r} is empty or repeats a tag")
        for raw in members:
            if raw not in known:
                raise DataError(
                    f"{where}: synonym group {merged!r} names {raw!r}, which is not one of the "
                    "188 MTAT tags (data/mtat/derived/tags188_column_order.txt)"
                )
            if raw in seen:
                raise DataError(
                    f"{where}: raw tag {raw!r} is in two synonym groups ({seen[raw]!r}, {merged!r})"
                )
            seen[raw] = merged


def _raw_members(
    tags: Iterable[str], synonyms: Mapping[str, Sequence[str]], where: str
) -> dict[str, tuple[str, ...]]:
    """``{tag: raw members}`` in order; DataError naming every tag that is no MTAT column."""
    known = set(metadata.TAGS188)
    out: dict[str, tuple[str, ...]] = {}
    for tag in tags:
        tag = _norm(tag)
        if tag in out:
            raise DataError(f"{where}: tag {tag!r} appears twice")
        out[tag] = tuple(synonyms.get(tag, (tag,)))
    if not out:
        raise DataError(f"{where}: the vocabulary has no tags")
    bad = [t for t, members in out.items() if not set(members) <= known]
    if bad:
        raise DataError(
            f"{where}: {bad} are neither MTAT tags (data/mtat/derived/tags188_column_order.txt) "
            "nor merged tags of the given synonyms"
        )
    return out


# keunwoochoi/magnatagatune-list README.md, "Proposed tag preprocessing" (the merge list the
# MTAT literature copies). Its "female" group does not contain "female vocal".
KEUNWOOCHOI_SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "beat": ("beat", "beats"),
    "chant": ("chant", "chanting"),
    "choir": ("choir", "choral"),
    "classical": ("classical", "clasical", "classic"),
    "drum": ("drum", "drums"),
    "electro": ("electro", "electronic", "electronica", "electric"),
    "fast": ("fast", "fast beat", "quick"),
    "female": ("female", "female singer", "female singing", "female vocals", "female voice",
               "woman", "woman singing", "women"),
    "flute": ("flute", "flutes"),
    "guitar": ("guitar", "guitars"),
    "hard": ("hard", "hard rock"),
    "harpsichord": ("harpsichord", "harpsicord"),
    "heavy": ("heavy", "heavy metal", "metal"),
    "horn": ("horn", "horns"),
    "india": ("india", "indian"),
    "jazz": ("jazz", "jazzy"),
    "male": ("male", "male singer", "male vocal", "male vocals", "male voice", "man",
             "man singing", "men"),
    "no beat": ("no beat", "no drums"),
    "no singer": ("no singer", "no singing", "no vocal", "no vocals", "no voice", "no voices",
                  "instrumental"),
    "opera": ("opera", "operatic"),
    "orchestra": ("orchestra", "orchestral"),
    "quiet": ("quiet", "silence"),
    "singer": ("singer", "singing"),
    "space": ("space", "spacey"),
    "string": ("string", "strings"),
    "synth": ("synth", "synthesizer"),
    "violin": ("violin", "violins"),
    "vocal": ("vocal", "vocals", "voice", "voices"),
    "strange": ("strange", "weird"),
})

# renesemela/masters-thesis-music-autotagging source_files/dataset_magnatagatune.py: the
# keunwoochoi list with "female vocal" added to "female"; same merged names.
RENESEMELA_SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    **KEUNWOOCHOI_SYNONYMS,
    "female": ("female", "female singer", "female singing", "female vocals", "female vocal",
               "female voice", "woman", "woman singing", "women"),
})

# kyungyunlee/sampleCNN-pytorch process_annotations.py: the same 29 groups as RENESEMELA
# (with "female vocal"), but five groups are named after another member.
KYUNGYUNLEE_SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "beat": ("beat", "beats"),
    "chant": ("chant", "chanting"),
    "choir": ("choir", "choral"),
    "classic": ("classic", "clasical", "classical"),
    "drum": ("drum", "drums"),
    "electronic": ("electronic", "electro", "electronica", "electric"),
    "fast": ("fast", "fast beat", "quick"),
    "female": ("female", "female singer", "female singing", "female vocal", "female vocals",
               "female voice", "woman", "woman singing", "women"),
    "flute": ("flute", "flutes"),
    "guitar": ("guitar", "guitars"),
    "hard": ("hard", "hard rock"),
    "harpsichord": ("harpsichord", "harpsicord"),
    "heavy": ("heavy", "heavy metal", "metal"),
    "horn": ("horn", "horns"),
    "indian": ("indian", "india"),
    "jazz": ("jazz", "jazzy"),
    "male": ("male", "male singer", "male vocal", "male vocals", "male voice", "man",
             "man singing", "men"),
    "no beat": ("no beat", "no drums"),
    "no vocal": ("no vocal", "no singing", "no singer", "no vocals", "no voice", "no voices",
                 "instrumental"),
    "opera": ("opera", "operatic"),
    "orchestra": ("orchestra", "orchestral"),
    "quiet": ("quiet", "silence"),
    "singer": ("singer", "singing"),
    "space": ("space", "spacey"),
    "string": ("string", "strings"),
    "synth": ("synth", "synthesizer"),
    "violin": ("violin", "violins"),
    "vocal": ("vocal", "vocals", "voice", "voices"),
    "weird": ("weird", "strange"),
})

SYNONYM_MAPS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "keunwoochoi": KEUNWOOCHOI_SYNONYMS,
    "renesemela": RENESEMELA_SYNONYMS,
    "kyungyunlee": KYUNGYUNLEE_SYNONYMS,
})
SYNONYM_SOURCES: Mapping[str, str] = MappingProxyType({
    "keunwoochoi": "keunwoochoi/magnatagatune-list README.md @0604b9fadccf3cf7c52033c89a011ab2bc"
                   "4296b9 ('Proposed tag preprocessing'; the author is unsure about merging "
                   "opera/operatic and hard/hard rock)",
    "renesemela": "renesemela/masters-thesis-music-autotagging source_files/"
                  "dataset_magnatagatune.py @0bd711072c0f91e4d4048cf67e96a9270d35eaad "
                  "(tags_synonyms)",
    "kyungyunlee": "kyungyunlee/sampleCNN-pytorch process_annotations.py "
                   "@041618e2a030526ef5b5acd4d2f734b12ce622a9 (_merge_redundant_tags)",
})

STANDARD_TOP50 = Vocabulary(
    key="standard",
    tags=tuple(metadata.standard_tags()),
    source="minzwon/sota-music-tagging-models split/mtat/tags.npy "
           "@c5c726c0caff82d3c2127618bd4cd8185940837a (shipped: data/mtat/split/tags.npy; "
           "= jordipons/musicnn-training output_labels_mtt.txt); Lee et al. 2017, Won et al. 2020",
    order="most frequent first (on all clips)",
    note="the 50 most frequent raw tags, no merging; none of SECTION7_TAGS",
)

# renesemela/masters-thesis-music-autotagging source_files/application/application.py,
# tag_names_mtt: the 50 most frequent tags after RENESEMELA_SYNONYMS, in the column order of
# the merged annotations (the source writes no_piano, no_beat, new_age, no_singer).
RENESEMELA_TOP50 = Vocabulary(
    key="renesemela",
    tags=("singer", "harpsichord", "sitar", "heavy", "foreign", "no piano", "classical",
          "female", "jazz", "guitar", "quiet", "no beat", "solo", "folk", "ambient", "new age",
          "synth", "drum", "bass", "loud", "string", "opera", "fast", "country", "violin",
          "electro", "trance", "chant", "strange", "modern", "hard", "harp", "pop", "piano",
          "orchestra", "eastern", "slow", "male", "vocal", "no singer", "india", "rock", "dance",
          "cello", "techno", "flute", "beat", "soft", "choir", "baroque"),
    synonyms=RENESEMELA_SYNONYMS,
    source="renesemela/masters-thesis-music-autotagging source_files/application/"
           "application.py @0bd711072c0f91e4d4048cf67e96a9270d35eaad (tag_names_mtt); "
           "synonyms: source_files/dataset_magnatagatune.py @same commit; R. Semela, master's "
           "thesis, Brno University of Technology",
    order="annotation column order of the merged tags (not by frequency)",
    note="synonym-merged top-50; has all six SECTION7_TAGS under the report's names",
)

# kyungyunlee/sampleCNN-pytorch 50_tags.txt: written by its process_annotations.py from the
# real annotations_final.csv, least frequent first (sort_values().tail(50)).
KYUNGYUNLEE_TOP50 = Vocabulary(
    key="kyungyunlee",
    tags=("no beat", "folk", "trance", "foreign", "orchestra", "baroque", "chant", "hard",
          "no piano", "modern", "bass", "eastern", "country", "jazz", "cello", "heavy", "harp",
          "weird", "dance", "new age", "choir", "solo", "sitar", "soft", "pop", "flute", "quiet",
          "loud", "harpsichord", "opera", "singer", "indian", "synth", "violin", "ambient",
          "piano", "female", "beat", "male", "fast", "rock", "no vocal", "drum", "electronic",
          "vocal", "string", "techno", "slow", "classic", "guitar"),
    synonyms=KYUNGYUNLEE_SYNONYMS,
    source="kyungyunlee/sampleCNN-pytorch 50_tags.txt @041618e2a030526ef5b5acd4d2f734b12ce622a9; "
           "synonyms: process_annotations.py @same commit",
    order="least frequent first (by merged count on all 25,863 clips)",
    note="the same 50 groups as 'renesemela'; the no-singer group is named 'no vocal', so "
         "'no singer' is only a member of a merged tag here",
)

ALL_TAGS188 = Vocabulary(
    key="all188",
    tags=tuple(metadata.TAGS188),
    source="annotations_final.csv header (shipped: data/mtat/derived/tags188_column_order.txt)",
    order="annotation column order",
    note="every raw tag: '>= 1 tag' = the clip has any annotation at all",
)

VOCABULARIES: Mapping[str, Vocabulary] = MappingProxyType({
    v.key: v for v in (STANDARD_TOP50, RENESEMELA_TOP50, KYUNGYUNLEE_TOP50, ALL_TAGS188)
})


def get_vocabulary(vocabulary: Vocabulary | str) -> Vocabulary:
    """A :class:`Vocabulary` itself, or the one of :data:`VOCABULARIES` with that key."""
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if isinstance(vocabulary, str) and vocabulary in VOCABULARIES:
        return VOCABULARIES[vocabulary]
    raise DataError(f"unknown vocabulary {vocabulary!r}; known: {', '.join(VOCABULARIES)}")


def _resolve(
    vocabulary: Vocabulary | str | Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | str | None,
) -> dict[str, tuple[str, ...]]:
    """``{merged tag: raw members}`` for a vocabulary object/key or a list of tag names."""
    if isinstance(synonyms, str):
        if synonyms not in SYNONYM_MAPS:
            raise DataError(f"unknown synonyms {synonyms!r}; known: {', '.join(SYNONYM_MAPS)}")
        synonyms = SYNONYM_MAPS[synonyms]
    if isinstance(vocabulary, (Vocabulary, str)):
        voc = get_vocabulary(vocabulary)
        tags, syn = voc.tags, voc.synonyms if synonyms is None else synonyms
        where = f"vocabulary {voc.key!r}"
    else:
        tags, syn, where = list(vocabulary), synonyms or {}, "vocabulary"
    syn = {_norm(k): tuple(v) for k, v in syn.items()}
    _check_synonyms(syn, where)
    return _raw_members(tags, syn, where)


# --- the clips Sec. VII names --------------------------------------------------------------

# The report misspells one artist ("frankenstien"); MTAT's paths write "frankenstein".
def _mtat_stem(report_name: str) -> str:
    stem = report_name
    for wrong, right in REPORT_SPELLING.items():
        stem = stem.replace(wrong, right)
    return stem


def section7_clips() -> tuple[Section7Clip, ...]:
    """:data:`SECTION7_CLIPS` recomputed from the shipped metadata (index, split lists, gt).

    DataError if a clip is not (exactly once) in musicnn-training/index_mtt.tsv.
    """
    index = metadata.mtt_index()
    stems = index["mp3_path"].str.split("/", n=1).str[1].str.removesuffix(".mp3")
    split = {part: set(paths) for part, paths in metadata.standard_split_paths().items()}
    tags = metadata.standard_tags()
    gt = {part: metadata.gt_labels(part) for part in ("valid", "test")}
    out = []
    for clip in SECTION7_CLIPS:
        rows = np.flatnonzero((stems == _mtat_stem(clip.report_name)).to_numpy())
        if len(rows) != 1:
            raise DataError(
                f"clip {clip.report_name!r}: found {len(rows)} rows in index_mtt.tsv, expected 1"
            )
        row = int(rows[0])
        clip_id, mp3 = int(index["clip_id"].iat[row]), str(index["mp3_path"].iat[row])
        part = next((p for p, folders in DIELEMAN_FOLDERS.items() if mp3[0] in folders))
        standard = next((p for p in PARTS if mp3 in split[p]), None)
        labels = None
        if part in gt:
            ids, y = gt[part]
            hit = np.flatnonzero(ids == clip_id)
            if len(hit) == 1:
                labels = tuple(tags[j] for j in np.flatnonzero(y[hit[0]]))
        out.append(Section7Clip(
            report_name=clip.report_name, clip_id=clip_id, mp3_path=mp3, row=row,
            folder=mp3[0], dieleman_part=part, standard_part=standard, standard_labels=labels,
            report_tags=clip.report_tags, report_auc=clip.report_auc,
        ))
    return tuple(out)


def merge_tags(
    tags: Iterable[str], synonyms: Mapping[str, Sequence[str]] | str = "renesemela"
) -> tuple[str, ...]:
    """The merged names of raw MTAT ``tags`` (e.g. a clip's labels), sorted, without repeats.

    ``merge_tags(["ambient", "no voice"])`` -> ``("ambient", "no singer")``.
    """
    syn = SYNONYM_MAPS.get(synonyms) if isinstance(synonyms, str) else synonyms
    if syn is None:
        raise DataError(f"unknown synonyms {synonyms!r}; known: {', '.join(SYNONYM_MAPS)}")
    to_merged = {raw: merged for merged, members in syn.items() for raw in members}
    return tuple(sorted({to_merged.get(_norm(t), _norm(t)) for t in tags}))


# --- which of the six tags a vocabulary has ------------------------------------------------


def section7_tags_in(vocabulary: Vocabulary | str | Sequence[str]) -> dict[str, bool]:
    """``{tag: present}`` for each of :data:`SECTION7_TAGS`, by tag *name* in the vocabulary.

    A vocabulary object, a key of :data:`VOCABULARIES`, or a list of tag names (underscores
    are read as spaces). The standard top-50 has none of the six.
    """
    if isinstance(vocabulary, (Vocabulary, str)):
        names = set(get_vocabulary(vocabulary).tags)
    else:
        names = {_norm(t) for t in vocabulary}
    return {tag: tag in names for tag in SECTION7_TAGS}


def section7_coverage(
    vocabulary: Vocabulary | str | Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | str | None = None,
) -> dict[str, str | None]:
    """``{tag: the vocabulary tag whose raw members include it, or None}`` for SECTION7_TAGS.

    Unlike :func:`section7_tags_in` this also finds a tag merged under another name (e.g.
    "no singer" inside kyungyunlee's "no vocal").
    """
    members = _resolve(vocabulary, synonyms)
    return {
        tag: next((name for name, raw in members.items() if tag in raw), None)
        for tag in SECTION7_TAGS
    }


# --- counting clips on a real annotations_final.csv ----------------------------------------


@dataclass(frozen=True)
class VocabularyCounts:
    """Clips per folder part with >= 1 tag of a vocabulary (see :func:`vocabulary_counts`)."""

    vocabulary: tuple[str, ...]
    folders: Mapping[str, str]
    n_clips: Mapping[str, int]  # all clips of the part's folders (after exclusions)
    n_tagged: Mapping[str, int]  # of those, clips with >= 1 vocabulary tag
    tag_counts: pd.DataFrame  # [tag x (parts..., "total")] positives per merged tag
    excluded: tuple[int, ...]  # clip_ids left out before counting
    blob_id: str | None  # git blob id of the annotations file, when read from disk

    @property
    def total(self) -> int:
        return int(sum(self.n_tagged.values()))

    @property
    def percent(self) -> dict[str, float]:
        """Each part's share of :attr:`total`, in percent (unrounded)."""
        total = self.total
        return {p: (100.0 * n / total if total else math.nan) for p, n in self.n_tagged.items()}

    def matches_report(self) -> bool:
        """True iff the total is 21,355 and every part's share prints as the report's value.

        "Prints as": rounding all three shares to two decimals, or truncating all three, gives
        the report's values (rounding cannot at a total of 21,355; truncation can).
        """
        if self.total != REPORT_TOTAL or set(self.n_tagged) != set(REPORT_PERCENT):
            return False
        return any(
            all(prints_as(self.n_tagged[p], self.total, REPORT_PERCENT[p], rule)
                for p in REPORT_PERCENT)
            for rule in RULES
        )

    def as_row(self) -> dict[str, object]:
        row: dict[str, object] = {}
        for p in self.n_tagged:
            row[p] = self.n_tagged[p]
        row["total"] = self.total
        for p, v in self.percent.items():
            row[f"pct_{p}"] = round(v, 2)
        row["matches_report"] = self.matches_report()
        return row


def _annotations(source: str | Path | pd.DataFrame, verify_blob: bool | None) -> pd.DataFrame:
    from mtlib.data import mtat  # pandas-heavy reader; imported where it is needed

    if isinstance(source, pd.DataFrame):
        missing = {"clip_id", "mp3_path", *metadata.TAGS188} - set(source.columns)
        if missing:
            raise DataError(
                f"annotations DataFrame lacks columns {sorted(missing)[:5]}...; expected the "
                "output of mtlib.data.mtat.read_annotations"
            )
        return source
    path = Path(source)
    if path.is_dir():
        root = path
    elif path.name == mtat.ANNOTATIONS_FILE:
        root = path.parent
    else:
        raise DataError(
            f"{path}: expected an MTAT root folder or a file named {mtat.ANNOTATIONS_FILE}"
        )
    return mtat.read_annotations(root, verify_blob=verify_blob)


def _check_folders(folders: Mapping[str, str]) -> dict[str, str]:
    out = {str(p): str(chars).lower() for p, chars in folders.items()}
    used = [c for chars in out.values() for c in chars]
    if not out or any(c not in _HEX for c in used) or len(used) != len(set(used)):
        raise DataError(
            f"folders {dict(folders)}: expected parts mapped to disjoint strings of folder "
            "characters 0-f, e.g. {'train': '0123456789ab', 'valid': 'c', 'test': 'def'}"
        )
    return out


def _count(
    df: pd.DataFrame,
    members: Mapping[str, tuple[str, ...]],
    folders: Mapping[str, str],
    exclude: tuple[int, ...],
) -> VocabularyCounts:
    if exclude:
        df = df[~df["clip_id"].isin(exclude)]
    column = {t: i for i, t in enumerate(metadata.TAGS188)}
    raw = df[list(metadata.TAGS188)].to_numpy(dtype=np.uint8)
    labels = np.stack(
        [raw[:, [column[m] for m in group]].max(axis=1) for group in members.values()], axis=1
    )
    tagged = labels.any(axis=1)
    folder = df["mp3_path"].astype(str).str[:1].to_numpy()
    n_clips, n_tagged, counts = {}, {}, {}
    for part, chars in folders.items():
        in_part = np.isin(folder, list(chars))
        n_clips[part] = int(in_part.sum())
        n_tagged[part] = int((in_part & tagged).sum())
        counts[part] = labels[in_part].sum(axis=0).astype(np.int64)
    table = pd.DataFrame(counts, index=pd.Index(list(members), name="tag"))
    table["total"] = table.sum(axis=1)
    return VocabularyCounts(
        vocabulary=tuple(members), folders=MappingProxyType(dict(folders)),
        n_clips=MappingProxyType(n_clips), n_tagged=MappingProxyType(n_tagged),
        tag_counts=table, excluded=exclude, blob_id=df.attrs.get("blob_id"),
    )


def vocabulary_counts(
    annotations_csv_path: str | Path | pd.DataFrame,
    vocabulary: Vocabulary | str | Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | str | None = None,
    folders: Mapping[str, str] = DIELEMAN_FOLDERS,
    exclude_clip_ids: Iterable[int] = (),
    verify_blob: bool | None = None,
) -> VocabularyCounts:
    """Clips per folder part that carry >= 1 tag of ``vocabulary``, after merging synonyms.

    ``annotations_csv_path``: a real ``annotations_final.csv`` (or the MTAT root holding it,
    or the DataFrame :func:`mtlib.data.mtat.read_annotations` returns); it is read and checked
    by that reader (``verify_blob`` as there: warns unless the bytes are a published copy).
    ``vocabulary``: a :class:`Vocabulary`, a key of :data:`VOCABULARIES` ("standard",
    "renesemela", "kyungyunlee", "all188"), or a list of tag names. ``synonyms``: merged tag ->
    raw tags (or a key of :data:`SYNONYM_MAPS`); default: the vocabulary's own (none for a
    plain list). A merged tag is positive when any of its raw tags is. ``folders``: part ->
    folder characters (default: Dieleman's 0-b / c / d-f). ``exclude_clip_ids``: clips left
    out first, e.g. :data:`mtlib.data.metadata.EMPTY_MP3_CLIP_IDS` (the 3 empty mp3s).
    """
    members = _resolve(vocabulary, synonyms)
    df = _annotations(annotations_csv_path, verify_blob)
    exclude = tuple(sorted({int(c) for c in exclude_clip_ids}))
    return _count(df, members, _check_folders(folders), exclude)


def compare_vocabularies(
    annotations_csv_path: str | Path | pd.DataFrame,
    vocabularies: Iterable[Vocabulary | str] | None = None,
    exclusions: Mapping[str, Iterable[int]] | None = None,
    folders: Mapping[str, str] = DIELEMAN_FOLDERS,
    verify_blob: bool | None = None,
) -> pd.DataFrame:
    """:func:`vocabulary_counts` for several vocabularies and clip exclusions, one row each.

    Default: every vocabulary of :data:`VOCABULARIES`, each with all clips and without the 3
    empty mp3s. Columns: vocabulary, exclusion, the part counts, total, pct_<part> (rounded
    to 2 decimals) and matches_report (see :meth:`VocabularyCounts.matches_report`).
    """
    df = _annotations(annotations_csv_path, verify_blob)
    vocabularies = list(VOCABULARIES.values()) if vocabularies is None else list(vocabularies)
    if exclusions is None:
        exclusions = {"all clips": (), "without empty mp3s": metadata.EMPTY_MP3_CLIP_IDS}
    parts = _check_folders(folders)
    rows = []
    for voc in vocabularies:
        voc = get_vocabulary(voc)
        members = _resolve(voc, None)
        for label, ids in exclusions.items():
            counts = _count(df, members, parts, tuple(sorted({int(c) for c in ids})))
            rows.append({"vocabulary": voc.key, "exclusion": label, **counts.as_row()})
    return pd.DataFrame(rows)


def merged_top_tags(
    annotations_csv_path: str | Path | pd.DataFrame,
    synonyms: Mapping[str, Sequence[str]] | str = "renesemela",
    n: int = 50,
    exclude_clip_ids: Iterable[int] = (),
    verify_blob: bool | None = None,
) -> list[tuple[str, int]]:
    """The ``n`` most frequent tags after merging ``synonyms``: ``[(tag, count), ...]``.

    Every raw tag outside a synonym group stays a tag of its own (as in the published
    scripts). Ties are broken by the smallest :func:`~mtlib.data.metadata.sorted_tags188` rank
    among a tag's members (the published scripts leave ties to an unstable sort).
    """
    if n < 1:
        raise DataError(f"n must be >= 1, got {n}")
    syn = SYNONYM_MAPS.get(synonyms) if isinstance(synonyms, str) else synonyms
    if syn is None:
        raise DataError(f"unknown synonyms {synonyms!r}; known: {', '.join(SYNONYM_MAPS)}")
    syn = {_norm(k): tuple(v) for k, v in syn.items()}
    _check_synonyms(syn, "synonyms")
    grouped = {raw for members in syn.values() for raw in members}
    vocab = [*syn, *(t for t in metadata.TAGS188 if t not in grouped)]
    members = _raw_members(vocab, syn, "merged vocabulary")
    counts = _count(
        _annotations(annotations_csv_path, verify_blob), members, {"all": _HEX},
        tuple(sorted({int(c) for c in exclude_clip_ids})),
    ).tag_counts["total"]
    rank = {t: i for i, t in enumerate(metadata.sorted_tags188())}
    order = sorted(members, key=lambda t: (-int(counts[t]), min(rank[m] for m in members[t])))
    return [(t, int(counts[t])) for t in order[:n]]

