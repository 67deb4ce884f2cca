"""Trial grids shared by the sections: trials of a configuration, and mean/std tables over
trials. Chains of steps that keep the best variant are :mod:`mtlib.report.study`.

Trial ``k`` of a configuration uses ``seed = k``; nothing else is random. Every grid goes
through :func:`mtlib.training.executors.run_grid`, so a configuration that another notebook already
trained is read from the run store, never retrained.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.training.rundir import RunResult

METRICS = ("val_roc_auc", "test_roc_auc", "test_pr_auc")


def trials(config: RunConfig, n: int) -> list[RunConfig]:
    return [config.replace(seed=k) for k in range(n)]


def runs_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """One row per run: run_id, every RunConfig field, its headline metrics, and whether it
    diverged (its metrics then NaN)."""
    rows = []
    for r in results:
        row = {"run_id": r.run_id, **r.config.to_dict()}
        row["tags"] = ",".join(row["tags"])
        for key in (*METRICS, "best_epoch", "epochs_run", "train_seconds"):
            row[key] = r.metrics.get(key, np.nan)
        row["diverged"] = bool(r.metrics.get("diverged", False))
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate(frame: pd.DataFrame, by: Sequence[str],
              metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean, sample std (NaN for one trial) and trial count of ``metrics`` per group of ``by``
    (over the trials that did not diverge), ``diverged`` the count of those that did;
    ``run_ids`` joins the group's run ids with spaces. Groups keep their first-seen order."""
    grouped = frame.groupby(list(by), sort=False, dropna=False)
    out = grouped[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{m}_{stat}" for m, stat in out.columns]
    out["trials"] = grouped.size()
    if "diverged" in frame:
        out["diverged"] = grouped["diverged"].sum().astype(int)
    out["run_ids"] = grouped["run_id"].agg(" ".join)
    return out.reset_index()


def best_index(table: pd.DataFrame, metric: str = "val_roc_auc_mean") -> int:
    """Position of the row with the highest ``metric`` (ties: first; NaN, e.g. a diverged
    run, never wins; when every row is NaN, the first)."""
    values = table[metric].to_numpy(dtype=float)
    return 0 if np.isnan(values).all() else int(np.nanargmax(values))


def best_run(results: Sequence[RunResult]) -> RunResult:
    """The run with the best validation ROC-AUC (ties: the lower seed; a diverged run only
    when every run diverged)."""
    def score(r: RunResult) -> float:
        v = r.metrics["val_roc_auc"]
        return -np.inf if v != v else v

    return max(results, key=lambda r: (score(r), -r.config.seed))


def measurement(mean: float, std: float = float("nan"), n: int = 1, note: str = "") -> dict:
    """A finding in AUC units (0-1) as stored in the artifacts."""
    return {"mean": float(mean), "std": None if pd.isna(std) else float(std), "n": int(n),
            "note": note}


def value(finding: dict[str, Any] | None) -> float | None:
    """The number of a finding (its mean, or its value), None when not measured."""
    if not finding:
        return None
    return finding.get("mean", finding.get("value"))
