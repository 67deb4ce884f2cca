"""Figures 1, 3 and 4: tag counts, training curves and per-tag results (notebooks 01, 04, 05).
Nothing here trains."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from mtlib.experiments.common import measurement
from mtlib.profiles import Profile


def tag_counts(profile: Profile) -> tuple[pd.DataFrame, str]:
    """Positives per tag in train, valid and test of the profile's split, most frequent
    training tag first; and a sentence saying where the counts come from.

    On real MTAT with the standard split the valid and test counts come from the shipped label
    matrices of the published lists (exact), train from the prepared cache's rows of the
    published train list. Otherwise all three come from the prepared cache.
    """
    from mtlib.data import metadata
    from mtlib.data.cache import open_cache

    cache = open_cache(profile.data_name, profile.shallow_sample_rate)
    counts = pd.DataFrame({"tag": cache.tags})
    sizes = {}
    for part in ("train", "valid", "test"):
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
    return counts, source


def curves(results: Sequence[Any]) -> pd.DataFrame:
    """Per-epoch train and validation ROC-AUC: mean and std over the runs' histories."""
    long = pd.concat([r.history.assign(seed=r.config.seed) for r in results])
    agg = long.groupby("epoch")[["train_roc_auc", "val_roc_auc"]].agg(["mean", "std"])
    agg.columns = [f"{m}_{s}" for m, s in agg.columns]
    return agg.reset_index()


def peak_epoch(curve: pd.DataFrame) -> int:
    """The epoch (1-based) of the highest mean validation ROC-AUC (ties: the earliest)."""
    return int(curve["epoch"].iloc[int(np.nanargmax(curve["val_roc_auc_mean"].to_numpy()))])


def curves_findings(curve: pd.DataFrame) -> dict[str, dict]:
    return {
        "figure3.best_epoch": {"value": peak_epoch(curve),
                               "note": "peak of the mean validation curve over trials"},
        "figure3.epochs": {"value": int(curve["epoch"].max()), "note": "epochs trained"},
    }


def per_tag_table(results: Sequence[Any]) -> pd.DataFrame:
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


def clip_table(result: Any, tags_per_clip: int = 3) -> pd.DataFrame:
    """One row per test clip of ``result``: its per-clip ROC-AUC (over tags), its true tags
    and its top predicted tags; clips without both a positive and a negative tag are dropped."""
    from mtlib.metrics import binary_auc

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


def per_tag_findings(per_tag: pd.DataFrame) -> dict[str, dict]:
    out = {"figure4.most_frequent_tag": {"value": str(per_tag["tag"].iloc[0]),
                                         "note": "most training positives"}}
    guitar = per_tag[per_tag["tag"] == "guitar"]
    if len(guitar) and pd.notna(guitar["roc_auc"].iloc[0]):
        g = guitar.iloc[0]
        out["figure4.guitar_auc"] = measurement(g["roc_auc"], g["roc_auc_std"],
                                                note="mean over the best pair's trials")
    return out


def with_paths(clips: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Add each clip's mp3 path from the prepared cache's index."""
    from mtlib.data.cache import open_cache

    index = open_cache(profile.data_name, profile.shallow_sample_rate).index
    by_id = dict(zip(index["clip_id"], index["mp3_path"], strict=True))
    return clips.assign(mp3_path=[by_id.get(c, "") for c in clips["clip_id"]])


def count_summary(counts: pd.DataFrame) -> dict[str, Any]:
    """What Figure 1 shows, in numbers: the most and least frequent training tags, their
    ratio, the share of positives held by the ten most frequent tags, and each part's share
    of all positives. ``counts``: :func:`tag_counts`."""
    present = counts[counts["train"] > 0]
    parts = counts[["train", "valid", "test"]].sum()
    return {
        "top": counts.iloc[0], "bottom": present.iloc[-1],
        "ratio": float(counts["train"].iloc[0] / max(int(present["train"].iloc[-1]), 1)),
        "top10_share": float(counts["train"].iloc[:10].sum() / counts["train"].sum()),
        "part_share": (parts / parts.sum()).to_dict(),
        "same_top5": list(counts.sort_values("test", ascending=False, kind="stable")["tag"][:5])
        == list(counts["tag"][:5]),
    }


def per_tag_summary(per_tag: pd.DataFrame, n_hardest: int = 5) -> dict[str, Any]:
    """What Figure 4 shows, in numbers. Among tags with a test ROC-AUC and training clips:
    the most frequent tag's rank (None when it has no test ROC-AUC), the ``n_hardest`` tags
    with the lowest ROC-AUC, and the Spearman correlation between training count and ROC-AUC.
    ``per_tag``: :func:`per_tag_table`."""
    from scipy.stats import spearmanr

    scored = per_tag[per_tag["roc_auc"].notna() & (per_tag["n_train_pos"] > 0)]
    top = per_tag.iloc[0]
    rank = None
    if top["tag"] in set(scored["tag"]):
        rank = int(scored["roc_auc"].rank(ascending=False)[scored["tag"] == top["tag"]].iloc[0])
    rho = (float(spearmanr(scored["n_train_pos"], scored["roc_auc"]).statistic)
           if len(scored) > 2 else float("nan"))
    return {"top": top, "top_rank": rank, "n_scored": len(scored),
            "hardest": scored.nsmallest(n_hardest, "roc_auc"), "spearman": rho}
