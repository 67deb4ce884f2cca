"""Tagging metrics: the one :func:`evaluate` used for validation, test and the report.

- ROC-AUC per tag: :func:`sklearn.metrics.roc_auc_score` over the clips of a split.
- PR-AUC per tag: :func:`sklearn.metrics.average_precision_score` (average precision, the
  step-wise area under the precision-recall curve, as in the MTAT literature).
- Macro: the unweighted mean over *included* tags. A tag with no positive (or no negative)
  clip in the split has no defined AUC; it is excluded from both macros and listed in
  ``excluded_tags`` instead, so a macro is never NaN.
- Per-clip ROC-AUC: the AUC over tags of one clip (ranking tags for that clip), averaged over
  clips that have >= 1 positive and >= 1 negative tag.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

from mtlib.errors import MtlibError


class MetricsError(MtlibError):
    """Labels or scores cannot be scored (wrong shapes, non-finite scores, no usable tag)."""


def _check(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise MetricsError(
            f"y_true and y_score must both be [n_clips, n_tags]; got {y_true.shape} "
            f"and {y_score.shape}"
        )
    if not np.isin(y_true, (0, 1)).all():
        raise MetricsError("y_true must contain only 0/1 labels")
    if not np.isfinite(y_score).all():
        raise MetricsError(f"y_score has {int((~np.isfinite(y_score)).sum())} non-finite values")
    return y_true.astype(np.int8), y_score


def binary_auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row of ``scores`` [m, k] against 0/1 ``labels`` [m, k], vectorised.

    Uses the rank-sum (Mann-Whitney) form with average ranks for ties, which equals
    ``roc_auc_score`` row by row. Rows without both classes give NaN.
    """
    labels = np.asarray(labels, dtype=bool)
    ranks = rankdata(scores, axis=1)  # average ranks for ties
    n_pos = labels.sum(1)
    n_neg = labels.shape[1] - n_pos
    rank_sum = np.where(labels, ranks, 0.0).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def per_clip_auc(y_true: np.ndarray, y_score: np.ndarray) -> tuple[float, int]:
    """Mean ROC-AUC over tags per clip, over clips with >= 1 positive and >= 1 negative tag.

    Returns ``(mean_auc, n_clips_used)``; ``(nan, 0)`` when no clip qualifies.
    """
    y_true, y_score = _check(y_true, y_score)
    auc = binary_auc(y_true, y_score)
    used = np.isfinite(auc)
    if not used.any():
        return float("nan"), 0
    return float(auc[used].mean()), int(used.sum())


def evaluate(
    y_true: np.ndarray,
    y_score: np.ndarray,
    tags: Sequence[str],
    n_train_pos: Sequence[int] | np.ndarray | None = None,
) -> dict[str, Any]:
    """Score clip-level predictions.

    Args:
        y_true: 0/1 labels, ``[n_clips, n_tags]``.
        y_score: scores (probabilities or logits; only their order matters), same shape.
        tags: the ``n_tags`` tag names, column order.
        n_train_pos: optional positives per tag in the training split (stored per tag).

    Returns a dict with ``roc_auc`` and ``pr_auc`` (macro over included tags),
    ``per_tag`` (DataFrame indexed by tag: roc_auc, pr_auc, n_pos, n_neg[, n_train_pos];
    NaN AUCs for excluded tags), ``excluded_tags`` (list), ``n_tags_used``,
    ``per_clip_roc_auc``, ``n_clips_per_clip_auc`` and ``n_clips``.

    Raises MetricsError for mismatched shapes, non-0/1 labels, non-finite scores, or when
    no tag has both a positive and a negative clip.
    """
    y_true, y_score = _check(y_true, y_score)
    tags = list(tags)
    if len(tags) != y_true.shape[1]:
        raise MetricsError(f"{len(tags)} tag names for {y_true.shape[1]} label columns")
    n_pos = y_true.sum(0).astype(int)
    n_neg = y_true.shape[0] - n_pos
    usable = (n_pos > 0) & (n_neg > 0)
    if not usable.any():
        raise MetricsError(
            f"no tag has both positive and negative clips among {y_true.shape[0]} clips; "
            "ROC-AUC is undefined"
        )
    roc = np.full(len(tags), np.nan)
    pr = np.full(len(tags), np.nan)
    for j in np.flatnonzero(usable):
        roc[j] = roc_auc_score(y_true[:, j], y_score[:, j])
        pr[j] = average_precision_score(y_true[:, j], y_score[:, j])
    per_tag = pd.DataFrame(
        {"roc_auc": roc, "pr_auc": pr, "n_pos": n_pos, "n_neg": n_neg},
        index=pd.Index(tags, name="tag"),
    )
    if n_train_pos is not None:
        per_tag["n_train_pos"] = np.asarray(n_train_pos, dtype=int)
    clip_auc, n_clip_auc = per_clip_auc(y_true, y_score)
    return {
        "roc_auc": float(roc[usable].mean()),
        "pr_auc": float(pr[usable].mean()),
        "per_tag": per_tag,
        "excluded_tags": [t for t, ok in zip(tags, usable, strict=True) if not ok],
        "n_tags_used": int(usable.sum()),
        "per_clip_roc_auc": clip_auc,
        "n_clips_per_clip_auc": n_clip_auc,
        "n_clips": int(y_true.shape[0]),
    }
