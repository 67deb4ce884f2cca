"""Notebook 05, Figure 4: per-tag test ROC-AUC of the best Table I configuration against the
tags' training counts, and the best and worst test clips. Nothing here trains.

:func:`listening` picks the clips the chapter names for a reader to hear: the best and worst
test clips, the clips of Section VII that the test set holds, and for each of the hardest tags
the tagged clip the model scores highest, the one it misses worst and the untagged clip it
scores highest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from mtlib.paper.numbers import shown
from mtlib.report import listening as listen
from mtlib.report import plots
from mtlib.report.artifacts import write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile
from mtlib.report.sections import length_stride_table
from mtlib.report.sections.grids import measurement
from mtlib.training.rundir import RunResult

SLUG = "05_per_tag_analysis"
CLIPS_SLUG = "05_per_tag_analysis_clips"
SECTION7_SLUG = "05_per_tag_analysis_section7"
HIGHLIGHT = "guitar"  # the report's example: the most frequent tag, yet hard
N_HARDEST = 5
N_EXTREME_CLIPS = 5
TAGS_PER_CLIP = 3
MODEL = "shallow CNN"  # the model whose clips the chapter names, as a reader sees it
LISTEN = {"extremes": "05_listen_extremes", "section7": "05_listen_section7",
          "hardest": "05_listen_hardest"}  # each group of clips, by what it shows


@dataclass
class PerTag:
    """``per_tag``: tag, roc_auc (mean over trials), roc_auc_std, pr_auc, n_train_pos, most
    training positives first. ``clips``: per test clip of the first trial, its ROC-AUC over
    tags, true and top predicted tags, mp3 path; ``extremes``: the best and worst of them."""

    per_tag: pd.DataFrame
    clips: pd.DataFrame
    extremes: pd.DataFrame
    top: pd.Series  # the most frequent training tag
    top_rank: int | None  # its ROC-AUC rank among scored tags (None: no test ROC-AUC)
    n_scored: int  # tags with a test ROC-AUC and training clips
    hardest: pd.DataFrame  # the N_HARDEST scored tags with the lowest ROC-AUC
    spearman: float  # rank correlation of training count and ROC-AUC over scored tags
    # Sec. VII: the three clips the report names (their ROC-AUC here when this run's test
    # set has them) and the six tags it discusses (their ROC-AUC when the vocabulary has them)
    named_clips: pd.DataFrame
    section7_tags: pd.DataFrame
    first_run: RunResult = field(repr=False)  # the trial whose clips are ranked and named

    @property
    def named_clips_found(self) -> int:
        return int(self.named_clips["in_test_set"].sum())

    @property
    def section7_tags_missing(self) -> list[str]:
        return list(self.section7_tags.loc[~self.section7_tags["in_vocabulary"], "tag"])


def per_tag_table(results: Sequence[RunResult]) -> pd.DataFrame:
    """Per-tag test ROC-AUC and PR-AUC (mean over runs) with the training positives count,
    sorted by that count, most frequent first."""
    frames = []
    for r in results:
        df = pd.DataFrame.from_dict(r.metrics["per_tag"], orient="index")
        df.index.name = "tag"
        frames.append(df.reset_index())
    long = pd.concat(frames)
    table = long.groupby("tag", sort=False).agg(
        roc_auc=("roc_auc", "mean"), roc_auc_std=("roc_auc", "std"), pr_auc=("pr_auc", "mean"),
        n_train_pos=("n_train_pos", "first"))
    return table.sort_values("n_train_pos", ascending=False, kind="stable").reset_index()


def clip_table(result: RunResult, tags_per_clip: int = TAGS_PER_CLIP) -> pd.DataFrame:
    """One row per test clip of ``result``: its per-clip ROC-AUC (over tags), its true tags
    and its top predicted tags; clips without both a positive and a negative tag are dropped.
    Best clip first."""
    from mtlib.training.metrics import binary_auc

    clip_ids, y_true, y_score, tags = result.predictions()
    auc = binary_auc(y_true, y_score)
    tags = np.asarray(tags)
    rows = []
    for i in np.flatnonzero(np.isfinite(auc)):
        top = np.argsort(-y_score[i])[:tags_per_clip]
        rows.append({"clip_id": int(clip_ids[i]), "clip_auc": float(auc[i]),
                     "true tags": ", ".join(tags[y_true[i] > 0]),
                     "top predicted": ", ".join(tags[top])})
    return pd.DataFrame(rows).sort_values("clip_auc", ascending=False, kind="stable")


def _with_paths(clips: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Add each clip's mp3 path from the prepared cache's index."""
    from mtlib.data.cache import open_cache

    index = open_cache(profile.data_name, profile.shallow_sample_rate).index
    by_id = dict(zip(index["clip_id"], index["mp3_path"], strict=True))
    return clips.assign(mp3_path=[by_id.get(c, "") for c in clips["clip_id"]])


def run(profile: Profile) -> PerTag:
    """Figure 4 from the best Table I pair's runs (notebook 03): the per-tag table (mean over
    trials), the test clips of the first trial ranked by ROC-AUC over their tags with the best
    and worst :data:`N_EXTREME_CLIPS`, the :data:`N_HARDEST` hardest tags, and the clips and
    tags of Section VII."""
    from scipy.stats import spearmanr

    _, results = length_stride_table.best_pair_runs(profile)
    per_tag = per_tag_table(results)
    clips = _with_paths(clip_table(results[0]), profile)
    extremes = pd.concat([clips.head(N_EXTREME_CLIPS).assign(rank="best"),
                          clips.tail(N_EXTREME_CLIPS).assign(rank="worst")], ignore_index=True)
    scored = per_tag[per_tag["roc_auc"].notna() & (per_tag["n_train_pos"] > 0)]
    top = per_tag.iloc[0]
    rank = None
    if top["tag"] in set(scored["tag"]):
        rank = int(scored["roc_auc"].rank(ascending=False)[scored["tag"] == top["tag"]].iloc[0])
    rho = (float(spearmanr(scored["n_train_pos"], scored["roc_auc"]).statistic)
           if len(scored) > 2 else float("nan"))
    return PerTag(per_tag, clips, extremes, top, rank, len(scored),
                  scored.nsmallest(N_HARDEST, "roc_auc"), rho, _named_clips(clips),
                  _section7_tags(per_tag), results[0])


def _named_clips(clips: pd.DataFrame) -> pd.DataFrame:
    """The three clips of Sec. VII: the report's ROC-AUC and ours where the run scored them."""
    from mtlib.paper.dataset import SECTION7_CLIPS

    ours = dict(zip(clips["clip_id"], clips["clip_auc"], strict=True))
    return pd.DataFrame([{
        "clip": c.report_name, "clip_id": c.clip_id, "report_tags": ", ".join(c.report_tags),
        "report_clip_auc": c.report_auc, "clip_auc": ours.get(c.clip_id, np.nan),
        "in_test_set": c.clip_id in ours,
    } for c in SECTION7_CLIPS])


def _section7_tags(per_tag: pd.DataFrame) -> pd.DataFrame:
    """The six tags Sec. VII discusses: whether this run's vocabulary has each, its ROC-AUC."""
    from mtlib.paper.dataset import SECTION7_TAGS

    auc = dict(zip(per_tag["tag"], per_tag["roc_auc"], strict=True))
    return pd.DataFrame([{"tag": t, "in_vocabulary": t in auc, "roc_auc": auc.get(t, np.nan)}
                         for t in SECTION7_TAGS])


def findings(p: PerTag) -> dict[str, dict]:
    out = {"figure4.most_frequent_tag": {"value": str(p.top["tag"]),
                                         "note": "most training positives"}}
    row = p.per_tag[p.per_tag["tag"] == HIGHLIGHT]
    if len(row) and pd.notna(row["roc_auc"].iloc[0]):
        out["figure4.guitar_auc"] = measurement(row["roc_auc"].iloc[0],
                                                row["roc_auc_std"].iloc[0],
                                                note="mean over the best pair's trials")
    return out


def listening(profile: Profile, p: PerTag) -> dict[str, listen.Listening]:
    """The clips the chapter names, by :data:`LISTEN` key: the best and worst test clips,
    the Section VII clips in the test set (no group when it holds none), and three clips for
    each of the hardest tags (:func:`mtlib.report.listening.tag_clips`)."""
    scores = listen.Scores.of(p.first_run, MODEL)
    config = p.first_run.config

    def group(title: str, clips: list[listen.Clip]) -> listen.Listening:
        return listen.Listening(title, tuple(clips), config.dataset, config.sample_rate,
                                listen.attribution(profile.data_source))

    ranks = p.extremes.groupby("rank").cumcount() + 1
    extremes = [listen.clip(r.clip_id, f"{r.rank} clip {k}: ROC-AUC over its tags "
                                       f"{r.clip_auc:.3f}", [scores])
                for r, k in zip(p.extremes.itertuples(), ranks, strict=True)]
    named = [listen.clip(r.clip_id, f"Section VII: {r.clip} (report: clip ROC-AUC "
                                    f"{r.report_clip_auc:.2f}; here {r.clip_auc:.2f})", [scores])
             for r in p.named_clips.itertuples() if r.in_test_set]
    hardest = [c for r in p.hardest.itertuples()
               for c in listen.tag_clips(scores, r.tag, f" (ROC-AUC {r.roc_auc:.2f})")]
    groups = {LISTEN["extremes"]: group("the best and worst test clips", extremes),
              LISTEN["section7"]: group("the clips Section VII names", named),
              LISTEN["hardest"]: group(
                  "the hardest tags: for each, the tagged clip the model scores highest, the "
                  "one it misses worst, and the untagged clip it scores highest", hardest)}
    return {key: g for key, g in groups.items() if g.clips}


def save(profile: Profile, p: PerTag,
         clips: dict[str, listen.Listening] | None = None) -> Outputs:
    """Figure 4, its table, the clip tables, each followed by its clips to listen to
    (``clips``: :func:`listening`, by :data:`LISTEN` key; None shows none)."""
    clips = clips or {}
    out = Outputs()

    def heard(what: str) -> None:
        if LISTEN[what] in clips:
            out.listening(LISTEN[what], clips[LISTEN[what]])

    out.figure(SLUG, plots.per_tag_figure(p.per_tag, highlight=HIGHLIGHT))
    out.table(SLUG, p.per_tag)
    out.table(CLIPS_SLUG, p.extremes)
    heard("extremes")
    out.table(SECTION7_SLUG, p.named_clips)
    heard("section7")
    heard("hardest")
    write_artifact(SLUG, profile.name, {"findings": findings(p)})
    return out


def closing(p: PerTag) -> str:
    """The notebook's closing paragraph (Markdown), read off ``p``."""
    top = p.top
    score = (f"reaches a test ROC-AUC of {top['roc_auc']:.3f}, rank {p.top_rank} of "
             f"{p.n_scored} tags" if p.top_rank
             else "has no test ROC-AUC (no positive test clip)")
    hardest = ", ".join(f"{r.tag} ({r.roc_auc:.3f}, {r.n_train_pos} clips)"
                        for r in p.hardest.itertuples())
    clip_auc = p.clips["clip_auc"]
    named = "".join(f"; {r.clip} scores {r.clip_auc:.2f}" for r in p.named_clips.itertuples()
                    if r.in_test_set)
    reported = shown("section7.clip_auc.jackass_canyon", "section7.clip_auc.secret_solution",
                     "section7.clip_auc.back_at_you")
    missing = (", ".join(p.section7_tags_missing) + " are not in this vocabulary."
               if p.section7_tags_missing else "all are in this vocabulary.")
    return (
        f"The most frequent tag, **{top['tag']}** ({top['n_train_pos']} training clips), "
        f"{score} (report: {shown('figure4.most_frequent_tag', 'figure4.guitar_auc')}). Among "
        f"the tags with training clips, the hardest are {hardest}. The rank correlation "
        f"between training count and test ROC-AUC is {p.spearman:+.2f}. Per clip, ROC-AUC over "
        f"tags ranges from {clip_auc.min():.3f} to {clip_auc.max():.3f} (median "
        f"{clip_auc.median():.3f}). Of the three clips Section VII names (report: {reported}), "
        f"this run's test set holds {p.named_clips_found}{named}. Of the six tags it "
        f"discusses, {missing}"
    )
