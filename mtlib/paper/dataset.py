"""What the report says of its dataset: the clips it used, their split, and the clips and
tags its Sec. VII names. The published numbers themselves live in :mod:`mtlib.paper.numbers`;
this module gives them the shapes the sections and the vocabulary forensics
(:mod:`mtlib.forensics.vocabularies`) use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mtlib.errors import DataError
from mtlib.paper.numbers import BY_KEY

REPORT_TOTAL = int(BY_KEY["data.clips_used"].value)  # Sec. III: 21,355
# Clips with >= 1 standard top-50 tag: 15,247 (folders 0-b, derived) + 1,529 (c) + 4,332 (d-f,
# both exact from the shipped gt files), plus at most the 3 empty mp3s: no list of 50 raw
# tags holds more clips (data/mtat/SOURCES.md, "Tag vocabularies and the report's 21,355").
MAX_TOP50_CLIPS = 15_247 + 1_529 + 4_332 + 3
REPORT_PERCENT: Mapping[str, float] = MappingProxyType(
    {part: float(BY_KEY[f"data.split.{key}_percent"].value)  # Sec. III
     for part, key in (("train", "train"), ("valid", "validation"), ("test", "test"))}
)

# Sec. VII: the tags it says the model struggles with ("foreign", "no singer", "no beat",
# "no piano") or does well on ("hard", "heavy"); none is in the standard top-50.
SECTION7_TAGS: tuple[str, ...] = ("foreign", "no singer", "no beat", "no piano", "hard", "heavy")

REPORT_SPELLING: Mapping[str, str] = MappingProxyType(
    {"electric_frankenstien": "electric_frankenstein"}
)


@dataclass(frozen=True)
class Section7Clip:
    """A clip named in Sec. VII, located in the shipped MTAT metadata.

    ``row`` is the 0-based data row of annotations_final.csv (= line of index_mtt.tsv);
    ``standard_part`` the part of the published Lee/Won split lists that holds it (None: none);
    ``standard_labels`` its standard top-50 tags from musicnn-training's gt files (folders c and
    d-f only; None for the train folders, whose gt file is not shipped).
    """

    report_name: str  # as printed in the report
    clip_id: int
    mp3_path: str
    row: int
    folder: str
    dieleman_part: str
    standard_part: str | None
    standard_labels: tuple[str, ...] | None
    report_tags: tuple[str, ...]  # the tags the report says the clip carries
    report_auc: float  # the per-clip AUC the report gives


SECTION7_CLIPS: tuple[Section7Clip, ...] = (
    Section7Clip(
        report_name="shira_kammen-music_of_waters-12-jackass_canyon-204-233",
        clip_id=48208,
        mp3_path="e/shira_kammen-music_of_waters-12-jackass_canyon-204-233.mp3",
        row=21951, folder="e", dieleman_part="test", standard_part="test",
        standard_labels=("guitar", "strings", "indian", "no vocals", "sitar", "weird"),
        report_tags=("foreign", "no singer"), report_auc=0.59,
    ),
    Section7Clip(
        report_name="magnatune-relaxation_spa-04-secret_solution_michael_masley-146-175",
        clip_id=19541,
        mp3_path="f/magnatune-relaxation_spa-04-secret_solution_michael_masley-146-175.mp3",
        row=8944, folder="f", dieleman_part="test", standard_part="test",
        standard_labels=("ambient", "no voice"),
        report_tags=("no beat", "no singer"), report_auc=0.55,
    ),
    Section7Clip(
        report_name="electric_frankenstien-sick_songs-08-back_at_you-88-117",
        clip_id=34740,
        mp3_path="d/electric_frankenstein-sick_songs-08-back_at_you-88-117.mp3",
        row=15856, folder="d", dieleman_part="test", standard_part="test",
        standard_labels=("rock", "loud"),
        report_tags=("rock", "hard"), report_auc=1.0,
    ),
)


RULES = ("round", "truncate")


def check_rule(rule: str) -> tuple[str, ...]:
    if rule == "either":
        return RULES
    if rule not in RULES:
        raise DataError(f"rule must be 'round', 'truncate' or 'either', got {rule!r}")
    return (rule,)


def prints_as(n: int, total: int, target: float, rule: str) -> bool:
    """Does ``100 n / total`` print as ``target`` when rounded / truncated to 2 decimals?"""
    if rule == "round":
        return abs(100.0 * n / total - target) <= 0.005 + 1e-12
    return (10_000 * n) // total == int(round(target * 100))


def implied_report_counts(
    total: int = REPORT_TOTAL,
    percent: Mapping[str, float] = REPORT_PERCENT,
    rule: str = "either",
) -> dict[str, list[int]]:
    """Part sizes ``n`` (0..total) whose share ``100 n / total`` prints as the report's value.

    ``rule``: "round" (to 2 decimals), "truncate", or "either" (the union, per part). At
    21,355 clips: train 15,424-15,426, valid 1,537-1,539, test 4,390-4,392.
    """
    rules = check_rule(rule)
    out = {}
    for part, target in percent.items():
        centre = int(target * total / 100)
        candidates = range(max(0, centre - 3), min(total, centre + 4) + 1)
        out[part] = [n for n in candidates if any(prints_as(n, total, target, r) for r in rules)]
    return out


def report_split_triples(
    total: int = REPORT_TOTAL, rule: str = "either"
) -> list[tuple[int, int, int]]:
    """(train, valid, test) sizes that sum to ``total`` and print as the report's percentages.

    One rule for all three parts ("either": the triples of "round" and of "truncate").
    Rounding gives none at 21,355 (the rounded ranges sum to at most 21,354); truncation
    gives (15425, 1538, 4392), (15425, 1539, 4391) and (15426, 1538, 4391).
    """
    out: list[tuple[int, int, int]] = []
    for r in check_rule(rule):
        ranges = implied_report_counts(total, REPORT_PERCENT, r)
        out += [
            (a, b, total - a - b)
            for a in ranges["train"]
            for b in ranges["valid"]
            if total - a - b in ranges["test"] and (a, b, total - a - b) not in out
        ]
    return sorted(out)
