"""Every comparative claim of the report, and a verdict on it with its uncertainty.

A :class:`Claim` compares two *arms*: the runs a notebook trained for one variant, named in
its artifact's ``arms`` (e.g. ``table2.group`` against ``table2.layer``). The effect is the
difference of the arms' mean test macro ROC-AUC, each arm averaged over its trials. Its 95 %
interval comes from a paired bootstrap over test clips: every resample draws the clips once
and scores every trial of both arms on them, so the interval holds the test set's sampling
noise; the spread across trials (their standard deviation, when an arm has several) is
reported beside it. The verdict:

- **holds**: the interval excludes zero in the report's direction;
- **fails**: it excludes zero the other way;
- **inconclusive**: it covers zero;
- **not trained enough**: an arm's mean validation ROC-AUC is below :data:`VALIDATION_FLOOR`,
  so this budget cannot judge the claim;
- **not measured**: the profile did not train an arm (or the stand-in lacks what it needs).

Two arms that kept the same model (identical test predictions: a plateau scheduler that never
fired, added epochs that never beat the best validation epoch) get an effect of exactly zero,
so "inconclusive", and a note that says why.

Claims that are not a difference of two arms have their own statistic (:data:`CLAIMS`): the
rank correlation of tags' training counts and their test ROC-AUC, the guitar tag against the
median tag, guitar's own gain, and the validation peak of Figure 3. The same code and table
serve every profile.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from mtlib.paper.arms import Arm
from mtlib.paper.claims import CLAIMS, Claim
from mtlib.paper.numbers import BY_KEY
from mtlib.report.artifacts import artifact_path, read_artifact
from mtlib.report.products import WITH_FINDINGS
from mtlib.training.metrics import binary_auc
from mtlib.training.rundir import RunResult
from mtlib.training.runs import RunStore

VALIDATION_FLOOR = 0.65  # below this validation ROC-AUC an arm has not learnt enough to judge
BOOTSTRAP = 1000  # resamples of the test clips
CONFIDENCE = 0.95
SEED = 0
VERDICTS = ("holds", "fails", "inconclusive", "not trained enough", "not measured")


def collect_arms(profile: str) -> dict[str, list[str]]:
    """Every arm's run ids, from the artifacts of ``profile`` that exist."""
    out: dict[str, list[str]] = {}
    for slug in WITH_FINDINGS:
        if artifact_path(slug, profile).is_file():
            out.update(read_artifact(slug, profile).get("arms", {}))
    return out


# --- statistics -------------------------------------------------------------------------
def _aligned(runs: Sequence[RunResult], clip_ids: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Test predictions of ``runs`` on common clips: ids [n], y_true [n, T], scores
    [runs, n, T], tags (the tags all runs share, in the first run's order)."""
    preds = [r.predictions() for r in runs]
    ids = preds[0][0] if clip_ids is None else clip_ids
    for p in preds:
        ids = np.intersect1d(ids, p[0])
    tags = [t for t in preds[0][3] if all(t in p[3] for p in preds)]
    scores, y_true = [], None
    for clip_id, y, score, run_tags in preds:
        position = {int(c): i for i, c in enumerate(clip_id)}
        rows = np.array([position[int(c)] for c in ids], dtype=np.int64)
        cols = [run_tags.index(t) for t in tags]
        scores.append(score[rows][:, cols])
        y_true = y[rows][:, cols] if y_true is None else y_true
    return ids, y_true, np.stack(scores), tags


def per_tag_auc(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC-AUC per tag: y_true [n, T], scores [..., n, T] -> [..., T] (NaN: one class)."""
    lead = scores.shape[:-2]
    flat = scores.reshape(-1, *scores.shape[-2:])
    out = np.stack([binary_auc(y_true.T, s.T) for s in flat])
    return out.reshape(*lead, y_true.shape[1])


def _macro(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Mean over tags of the per-tag ROC-AUC: scores [runs, n, T] -> [runs]."""
    return np.nanmean(per_tag_auc(y_true, scores), axis=-1)


def bootstrap(statistic: Callable[[np.ndarray], float], n: int, resamples: int = BOOTSTRAP,
              seed: int = SEED) -> np.ndarray:
    """``statistic(rows)`` on ``resamples`` draws of ``n`` row indices with replacement."""
    rng = np.random.default_rng(seed)
    return np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)])


def interval(samples: np.ndarray) -> tuple[float, float]:
    lo = (1 - CONFIDENCE) / 2
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return float("nan"), float("nan")
    return float(np.quantile(finite, lo)), float(np.quantile(finite, 1 - lo))


def verdict(low: float, high: float, direction: int = 1) -> str:
    """holds / fails / inconclusive for an interval of an effect expected ``direction``."""
    if np.isnan(low):
        return "not measured"
    if direction * low > 0 and direction * high > 0:
        return "holds"
    if direction * low < 0 and direction * high < 0:
        return "fails"
    return "inconclusive"


def _val(runs: Sequence[RunResult]) -> float:
    return float(np.mean([r.metrics["val_roc_auc"] for r in runs]))


def _arms_effect(a: Sequence[RunResult], b: Sequence[RunResult],
                 resamples: int) -> dict[str, Any]:
    ids, y, sa, _ = _aligned(list(a) + list(b))
    sa, sb = sa[: len(a)], sa[len(a):]
    effect = float(_macro(y, sa).mean() - _macro(y, sb).mean())
    samples = bootstrap(lambda r: _macro(y[r], sa[:, r]).mean() - _macro(y[r], sb[:, r]).mean(),
                        len(ids), resamples)
    per_trial = _macro(y, sa)[: min(len(a), len(b))] - _macro(y, sb)[: min(len(a), len(b))]
    return {"effect": effect, "interval": interval(samples), "n_clips": len(ids),
            "trial_std": float(np.std(per_trial, ddof=1)) if len(per_trial) > 1 else np.nan}


def _same_predictions(a: Sequence[RunResult], b: Sequence[RunResult]) -> bool:
    """Whether every trial of ``a`` scored the test clips exactly as its trial in ``b`` (e.g.
    a plateau scheduler that never fired within the epochs trained)."""
    return len(a) == len(b) and all(
        np.array_equal(x.predictions()[2], y.predictions()[2]) for x, y in zip(a, b, strict=True))


def _spearman_effect(runs: Sequence[RunResult], resamples: int) -> dict[str, Any]:
    from scipy.stats import spearmanr

    ids, y, s, tags = _aligned(runs)
    counts = np.array([runs[0].metrics["per_tag"].get(t, {}).get("n_train_pos", 0) for t in tags])

    def rho(rows: np.ndarray) -> float:
        auc = np.nanmean(per_tag_auc(y[rows], s[:, rows]), axis=0)
        ok = np.isfinite(auc) & (counts > 0)
        return float(spearmanr(counts[ok], auc[ok]).statistic) if ok.sum() > 2 else np.nan

    return {"effect": rho(np.arange(len(ids))), "interval": interval(bootstrap(
        rho, len(ids), resamples)), "n_clips": len(ids), "trial_std": np.nan}


def _guitar_effect(runs: Sequence[RunResult], resamples: int) -> dict[str, Any] | None:
    ids, y, s, tags = _aligned(runs)
    if "guitar" not in tags:
        return None
    g = tags.index("guitar")

    def gap(rows: np.ndarray) -> float:
        auc = np.nanmean(per_tag_auc(y[rows], s[:, rows]), axis=0)
        return float(auc[g] - np.nanmedian(np.delete(auc, g)))

    return {"effect": gap(np.arange(len(ids))), "interval": interval(bootstrap(
        gap, len(ids), resamples)), "n_clips": len(ids), "trial_std": np.nan}


def _tag_gain_effect(deep: Sequence[RunResult], shallow: Sequence[RunResult],
                     resamples: int) -> dict[str, Any] | None:
    ids, y, s, tags = _aligned(list(deep) + list(shallow))
    if "guitar" not in tags:
        return None
    g = tags.index("guitar")
    sd, ss = s[: len(deep)], s[len(deep):]

    def gain(rows: np.ndarray) -> float:
        d = np.nanmean(per_tag_auc(y[rows], sd[:, rows]), axis=0)
        b = np.nanmean(per_tag_auc(y[rows], ss[:, rows]), axis=0)
        return float((d[g] / b[g] - 1) - (np.nanmean(d) / np.nanmean(b) - 1))

    return {"effect": gain(np.arange(len(ids))), "interval": interval(bootstrap(
        gain, len(ids), resamples)), "n_clips": len(ids), "trial_std": np.nan}


def _tag_diff_effect(a: Sequence[RunResult], b: Sequence[RunResult], resamples: int,
                     tag: str = "guitar") -> dict[str, Any] | None:
    """``tag``'s test ROC-AUC under arm ``a`` minus under arm ``b`` (None without the tag)."""
    ids, y, s, tags = _aligned(list(a) + list(b))
    if tag not in tags:
        return None
    g = tags.index(tag)
    sa, sb = s[: len(a), :, g:g + 1], s[len(a):, :, g:g + 1]
    yg = y[:, g:g + 1]

    def diff(rows: np.ndarray) -> float:
        return float(np.nanmean(per_tag_auc(yg[rows], sa[:, rows]))
                     - np.nanmean(per_tag_auc(yg[rows], sb[:, rows])))

    return {"effect": diff(np.arange(len(ids))), "interval": interval(bootstrap(
        diff, len(ids), resamples)), "n_clips": len(ids), "trial_std": np.nan}


def _peak_effect(runs: Sequence[RunResult]) -> dict[str, Any]:
    """Validation peak minus the last epoch per trial: no test clips to resample, so the
    interval is the trials' mean +- t * standard error (NaN for one trial)."""
    from scipy.stats import t as student

    drops = np.array([r.history["val_roc_auc"].max() - r.history["val_roc_auc"].iloc[-1]
                      for r in runs])
    if len(drops) < 2:
        return {"effect": float(drops.mean()), "interval": (np.nan, np.nan), "n_clips": 0,
                "trial_std": np.nan, "note": "one trial: no interval without a second"}
    half = student.ppf(1 - (1 - CONFIDENCE) / 2, len(drops) - 1) * drops.std(ddof=1) / np.sqrt(
        len(drops))
    return {"effect": float(drops.mean()), "interval": (drops.mean() - half, drops.mean() + half),
            "n_clips": 0, "trial_std": float(drops.std(ddof=1))}


# --- the table --------------------------------------------------------------------------
def _report_difference(claim: Claim) -> float:
    if claim.report is None:
        return np.nan
    a, b = (BY_KEY[k] for k in claim.report)
    return (a.value / 100 if a.unit == "%" else a.value) - (b.value / 100 if b.unit == "%"
                                                             else b.value)


def judge(claim: Claim, arms: dict[str, list[str]], store: RunStore | None = None,
          resamples: int = BOOTSTRAP) -> dict[str, Any]:
    """One row of the claims table for ``claim`` given the arms' run ids (by arm key, as the
    artifacts store them)."""
    store = store or RunStore()
    row = {"key": claim.key, "section": claim.section, "claim": claim.text,
           "report_difference": _report_difference(claim), "effect": np.nan, "low": np.nan,
           "high": np.nan, "trial_std": np.nan, "val_a": np.nan, "val_b": np.nan,
           "n_clips": 0, "verdict": "not measured", "note": claim.note}

    def runs(arm: Arm | None) -> list[RunResult] | None:
        ids = None if arm is None else arms.get(arm.key)
        if not ids:
            return None
        loaded = [store.load(i) for i in ids]
        return None if any(r is None for r in loaded) else loaded

    if claim.kind in ("arms", "tag_gain", "tag_diff"):
        a, b = runs(claim.a), runs(claim.b)
        if a is None or b is None:
            row["note"] = _join(row["note"], "this profile trains no such arm")
            return row
        row.update(val_a=_val(a), val_b=_val(b))
        if claim.kind == "arms" and _same_predictions(a, b):
            row["note"] = ("both arms kept the same model (identical test predictions): "
                           "within this budget the change never altered the kept epoch")
        effect = {"arms": _arms_effect, "tag_gain": _tag_gain_effect,
                  "tag_diff": _tag_diff_effect}[claim.kind]
        stats = effect(a, b, resamples)
        direction, floor_runs = 1, (a, b)
    else:  # a statistic of one arm's trials (the report's best pair): tag_count, guitar, peak
        a = runs(claim.a)
        if a is None:
            return row
        row.update(val_a=_val(a))
        stats = {"tag_count": lambda: _spearman_effect(a, resamples),
                 "guitar": lambda: _guitar_effect(a, resamples),
                 "peak": lambda: _peak_effect(a)}[claim.kind]()
        direction, floor_runs = (-1 if claim.kind == "guitar" else 1), (a,)
        if claim.kind != "peak":
            row["note"] = "the 256/256 pair's trials"
    if stats is None:
        row["note"] = "the vocabulary has no guitar tag"
        return row
    low, high = stats["interval"]
    row.update(effect=stats["effect"], low=low, high=high, trial_std=stats["trial_std"],
               n_clips=stats["n_clips"], verdict=verdict(low, high, direction))
    if "note" in stats:
        row["note"] = stats["note"]
    if any(_val(r) < VALIDATION_FLOOR for r in floor_runs):
        row["verdict"] = "not trained enough"
        vals = " / ".join(f"{_val(r):.2f}" for r in floor_runs)
        row["note"] = _join(row["note"], f"validation {vals}, the floor {VALIDATION_FLOOR:.2f}")
    return row


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def claims_table(profile: str, resamples: int = BOOTSTRAP,
                 sections: Sequence[str] | None = None) -> pd.DataFrame:
    """Every claim of :data:`CLAIMS` (or those of the report's ``sections``) with its
    verdict, for the runs of ``profile``."""
    arms = collect_arms(profile)
    store = RunStore()
    chosen = [c for c in CLAIMS if sections is None or c.section in sections]
    return pd.DataFrame([judge(c, arms, store, resamples) for c in chosen])


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    return {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
