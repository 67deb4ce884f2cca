"""Notebook 01, Figure 1: how the top-50 tags are distributed over train, valid and test.
Nothing here trains."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mtlib.constants import PARTS
from mtlib.report import plots
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile

SLUG = "01_tag_distribution"
REALISM_SLUG = "01_realism_card"


@dataclass
class TagDistribution:
    """Positives per tag (``counts``: tag, train, valid, test; most frequent training tag
    first) and what Figure 1 shows, in numbers."""

    counts: pd.DataFrame
    source: str  # one sentence: which clips were counted
    top: pd.Series  # the most frequent training tag's row
    bottom: pd.Series  # the least frequent tag with any training clip
    ratio: float  # top / bottom training count
    top10_share: float  # share of training positives held by the ten most frequent tags
    part_share: dict[str, float]  # share of all positives per part
    same_top5: bool  # the five most frequent training tags lead the test counts too
    clips: dict[str, int]  # clips per part of the profile's split
    report_clips: int  # the report's 21,355
    report_percent: dict[str, float]  # the report's 72.23 / 7.20 / 20.56
    report_counts: dict[str, list[int]]  # the part sizes its percentages allow
    max_top50_clips: int  # the most clips any top-50 of raw MTAT tags can hold

    @property
    def percent(self) -> dict[str, float]:
        total = sum(self.clips.values())
        return {part: 100.0 * n / total for part, n in self.clips.items()}

    @property
    def total(self) -> int:
        return sum(self.clips.values())


def run(profile: Profile) -> TagDistribution:
    """Count positives per tag in the profile's split.

    On real MTAT with the standard split the valid and test counts come from the shipped label
    matrices of the published lists (exact), train from the prepared cache's rows of the
    published train list. Otherwise all three come from the prepared cache.
    """
    from mtlib.data import metadata
    from mtlib.data.cache import open_cache
    from mtlib.paper import dataset as reported

    cache = open_cache(profile.data_name, profile.shallow_sample_rate)
    counts = pd.DataFrame({"tag": cache.tags})
    sizes = {}
    for part in PARTS:
        rows = cache.split_rows(profile.data_split, part, profile.data_require_tag)
        counts[part] = cache.labels[rows].sum(0).astype(int)
        sizes[part] = len(rows)
    source = (f"Counts over the {profile.data_split} split of `{profile.data_name}` "
              f"({sizes['train']} / {sizes['valid']} / {sizes['test']} clips).")
    if profile.data_source == "mtat" and profile.data_split == "standard":
        for part in ("valid", "test"):
            _, y = metadata.standard_label_matrix(part)
            exact = dict(zip(metadata.standard_tags(), y.sum(0).astype(int), strict=True))
            counts[part] = [exact.get(t, 0) for t in counts["tag"]]
            sizes[part] = len(y)
        source = ("Counts over the standard split: train from the prepared cache's rows of "
                  f"the published train list ({sizes['train']} clips), valid and test from "
                  f"the shipped label matrices ({sizes['valid']} / {sizes['test']} clips).")
    counts = counts.sort_values("train", ascending=False, kind="stable").reset_index(drop=True)
    present = counts[counts["train"] > 0]
    parts = counts[list(PARTS)].sum()
    return TagDistribution(
        counts=counts, source=source, top=counts.iloc[0], bottom=present.iloc[-1],
        ratio=float(counts["train"].iloc[0] / max(int(present["train"].iloc[-1]), 1)),
        top10_share=float(counts["train"].iloc[:10].sum() / counts["train"].sum()),
        part_share={k: float(v) for k, v in (parts / parts.sum()).items()},
        same_top5=list(counts.sort_values("test", ascending=False, kind="stable")["tag"][:5])
        == list(counts["tag"][:5]),
        clips=sizes, report_clips=reported.REPORT_TOTAL,
        report_percent=dict(reported.REPORT_PERCENT),
        report_counts=reported.implied_report_counts(),
        max_top50_clips=reported.MAX_TOP50_CLIPS,
    )


def save(profile: Profile, dist: TagDistribution) -> Outputs:
    out = Outputs()
    out.figure(SLUG, plots.tag_distribution(dist.counts,
                                            title=f"Positives per tag ({profile.data_name})"))
    out.table(SLUG, dist.counts)
    return out


def realism(profile: Profile) -> pd.DataFrame | None:
    """The stand-in corpus's realism card (:func:`mtlib.standin.realism.realism_card`), or
    None when the profile reads real MTAT. The baseline is computed once per corpus."""
    if profile.data_source != "standin":
        return None
    from mtlib.report.profile_data import dataset_root
    from mtlib.standin.realism import corpus_card

    return corpus_card(dataset_root(profile))


def save_realism(card: pd.DataFrame | None) -> Outputs:
    """The realism card as table ``01_realism_card`` (nothing for real MTAT)."""
    from mtlib.standin.realism import card_display

    out = Outputs()
    if card is not None:
        out.table(REALISM_SLUG, card, card_display(card))
    return out


def realism_closing(card: pd.DataFrame | None) -> str:
    """One paragraph on the card, read off it (empty for real MTAT)."""
    if card is None:
        return ""
    inst = card.dropna(subset=["tagged_presence"])
    auc = card.dropna(subset=["baseline_auc"])
    low = auc.loc[auc["baseline_auc"].idxmin()]
    gap = inst["tagged_presence"] - inst["untagged_presence"]
    narrow = inst.loc[gap.idxmin()]
    ratio = card["freq_ratio"]
    return (
        f"Every instrument tag's sound is in {inst['tagged_presence'].min():.0%}-"
        f"{inst['tagged_presence'].max():.0%} of the clips that carry the tag and in "
        f"{inst['untagged_presence'].min():.0%}-{inst['untagged_presence'].max():.0%} of "
        f"those that do not (the weak-label effect; closest: **{narrow['tag']}**, "
        f"{narrow['tagged_presence']:.0%} against {narrow['untagged_presence']:.0%}). The "
        f"log-mel baseline scores macro ROC-AUC {auc['baseline_auc'].mean():.3f}, lowest on "
        f"**{low['tag']}** ({low['baseline_auc']:.3f}); tag frequencies are "
        f"{ratio.min():.2f}-{ratio.max():.2f} times MTAT's."
    )


def closing(dist: TagDistribution) -> str:
    """The notebook's closing paragraphs (Markdown), read off ``dist``."""
    same = "also" if dist.same_top5 else "not"
    ours = " / ".join(f"{v:.2f}" for v in dist.percent.values())
    report = " / ".join(f"{v:.2f}" for v in dist.report_percent.values())
    implied = ", ".join(f"{p} {min(n):,}-{max(n):,}" for p, n in dist.report_counts.items())
    return (
        f"The most frequent tag, **{dist.top['tag']}**, has {dist.top['train']} training "
        f"clips; the least frequent tag with any training clip, **{dist.bottom['tag']}**, has "
        f"{dist.bottom['train']} ({dist.ratio:.0f}x fewer). The ten most frequent tags hold "
        f"{dist.top10_share:.0%} of all training positives. Train, validation and test hold "
        f"{dist.part_share['train']:.0%}, {dist.part_share['valid']:.0%} and "
        f"{dist.part_share['test']:.0%} of the positives; the five most frequent training "
        f"tags are {same} the five most frequent test tags, in the same order."
        f"\n\nThis profile uses {dist.total:,} clips, split {ours} %; the report used "
        f"{dist.report_clips:,}, split {report} %, which implies {implied} clips. No top-50 "
        f"of raw MTAT tags can hold that many clips (at most {dist.max_top50_clips:,} have "
        "one), and the tags Section VII discusses are not in the standard top-50: the "
        "report's list was probably a synonym-merged top-50, which cannot be checked without "
        "MTAT's full annotations (`mtlib.forensics.vocabularies.compare_vocabularies` does it "
        "given them)."
    )
