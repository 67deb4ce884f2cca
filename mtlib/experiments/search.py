"""Section V: the coordinate-wise hyper-parameter search (notebook 02)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.experiments import common
from mtlib.experiments.common import (
    aggregate,
    mean_std,
    measurement,
    read_artifact,
    runs_frame,
    value_key,
    write_artifact,
)
from mtlib.profiles import Profile

# Section V starts from Dieleman & Schrauwen's network (32 filters, L = S = 256) with plain
# SGD settings; each stage then replaces one of these values by the best on validation.
SEARCH_START: dict[str, Any] = {
    "input_norm": "none", "filters": 32, "length": 256, "stride": 256, "lr": 0.01,
    "momentum": 0.9,
}


def search_base(profile: Profile) -> RunConfig:
    """The configuration the search starts from (see SEARCH_START)."""
    return RunConfig(
        dataset=profile.data_name, sample_rate=profile.shallow_sample_rate,
        split=profile.data_split, require_tag=profile.data_require_tag, model="dieleman",
        batch_clips=profile.shallow_batch_clips, epochs=profile.search_epochs,
        max_train_clips=profile.search_max_train_clips, **SEARCH_START,
    )


def lr_fine_grid(coarse: Sequence[float], scores: Sequence[float], points: int) -> list[float]:
    """The fine learning-rate grid: ``points`` values evenly spaced from the coarse best to
    its better-scoring neighbour in the (sorted) coarse grid, ascending.

    The report's coarse best 0.01 with neighbour 0.005 and ``points=3`` give
    [0.005, 0.0075, 0.01]. Values are rounded to 6 significant digits so that the coarse
    values reappear exactly (and their runs are reused).
    """
    order = np.argsort(coarse)
    lrs = np.asarray(coarse, dtype=float)[order]
    vals = np.asarray(scores, dtype=float)[order]
    if len(lrs) == 1:
        return [float(lrs[0])]
    b = int(np.nanargmax(vals))
    neighbours = [i for i in (b - 1, b + 1) if 0 <= i < len(lrs)]
    # Ties go to the smaller learning rate (the safer step size).
    n = max(neighbours, key=lambda i: (np.nan_to_num(vals[i], nan=-np.inf), -i))
    grid = np.linspace(min(lrs[b], lrs[n]), max(lrs[b], lrs[n]), points)
    return sorted({float(f"{v:.6g}") for v in grid})


@dataclass
class StageResult:
    """One stage of a search: the grid of one field, scored on validation."""

    name: str  # stage id (input_norm, filters, lr, lr_fine, momentum, ...)
    label: str  # what the stage varies, for tables and plots
    field: str  # the RunConfig field it varies
    values: list[Any]
    table: pd.DataFrame  # value, val/test ROC-AUC and PR-AUC mean/std, trials, run_ids
    best: Any  # the value kept (best mean validation ROC-AUC; ties: first in the grid)
    config: RunConfig  # the configuration with ``best`` applied (seed 0)
    results: list = field(repr=False, default_factory=list)

    def score(self, value: Any, metric: str = "val_roc_auc") -> float:
        """Mean ``metric`` over the trials of ``value`` (NaN if the stage did not try it)."""
        row = self.table[self.table["value"] == value]
        return float(row[f"{metric}_mean"].iloc[0]) if len(row) else float("nan")

    def display_table(self) -> pd.DataFrame:
        t = self.table
        return pd.DataFrame({
            self.label: [value_key(v) for v in t["value"]],
            "validation ROC-AUC": [mean_std(m, s) for m, s in
                                   zip(t["val_roc_auc_mean"], t["val_roc_auc_std"], strict=True)],
            "test ROC-AUC": [mean_std(m, s) for m, s in
                             zip(t["test_roc_auc_mean"], t["test_roc_auc_std"], strict=True)],
            "trials": t["trials"],
            "kept": ["yes" if v == self.best else "" for v in t["value"]],
        })


def run_stage(name: str, label: str, base: RunConfig, field_name: str, values: Sequence[Any],
              trials: int, executor: str = "local", progress: bool = True) -> StageResult:
    """Train ``base`` with each of ``values`` for ``field_name`` x ``trials`` seeds; keep the
    value with the best mean validation ROC-AUC."""
    values = list(values)
    configs = [base.replace(**{field_name: v}, seed=k) for v in values for k in range(trials)]
    results = common.run(configs, executor=executor, progress=progress)
    frame = runs_frame(results)
    frame["value"] = [v for v in values for _ in range(trials)]
    table = aggregate(frame, ["value"])
    best = table["value"].iloc[int(np.nanargmax(table["val_roc_auc_mean"].to_numpy()))]
    best = next(v for v in values if v == best)  # keep the grid's Python type
    return StageResult(name, label, field_name, values, table, best,
                       base.replace(**{field_name: best}, seed=0), results)


SEARCH_STAGES: tuple[tuple[str, str, str, str], ...] = (
    # (stage, label, RunConfig field, profile field holding the grid)
    ("input_norm", "input normalisation", "input_norm", "search_input_norms"),
    ("filters", "filters", "filters", "search_filters"),
    ("lr", "learning rate (coarse)", "lr", "search_lrs"),
    ("lr_fine", "learning rate (fine)", "lr", ""),
    ("momentum", "momentum", "momentum", "search_momenta"),
)


def coordinate_search(profile: Profile, executor: str = "local",
                      progress: bool = True) -> Iterator[StageResult]:
    """Section V: run the stages of SEARCH_STAGES in order, each starting from the previous
    stage's kept configuration; yields each stage's result as soon as it is done."""
    config = search_base(profile)
    coarse: StageResult | None = None
    for name, label, field_name, grid_field in SEARCH_STAGES:
        if name == "lr_fine":
            values = lr_fine_grid(coarse.values, coarse.table["val_roc_auc_mean"],
                                  profile.search_lr_fine_points)
        else:
            values = list(getattr(profile, grid_field))
        stage = run_stage(name, label, config, field_name, values, profile.search_trials,
                          executor, progress)
        if name == "lr":
            coarse = stage
        config = stage.config
        yield stage


def search_findings(stages: Sequence[StageResult]) -> dict[str, dict]:
    """Validation ROC-AUC of every searched value under the published keys
    (``search.<field>.<value>``); the fine learning-rate grid extends the coarse one."""
    keys = {"input_norm": "input_norm", "filters": "filters", "lr": "lr", "lr_fine": "lr",
            "momentum": "momentum"}
    out: dict[str, dict] = {}
    for stage in stages:
        for _, row in stage.table.iterrows():
            key = f"search.{keys[stage.name]}.{value_key(row['value'])}"
            out[key] = measurement(row["val_roc_auc_mean"], row["val_roc_auc_std"],
                                   row["trials"], f"stage {stage.name}")
    return out


def write_search(profile: Profile, stages: Sequence[StageResult]) -> Path:
    """Write the chosen configuration (artifact ``02_hyperparameter_search``)."""
    final = stages[-1].config
    chosen = {f: getattr(final, f) for f in ("input_norm", "filters", "lr", "momentum")}
    return write_artifact("02_hyperparameter_search", profile, {
        "chosen": chosen,
        "config": final.to_dict(),
        "stages": [{"stage": s.name, "field": s.field, "values": s.values, "best": s.best,
                    "val_roc_auc": s.table["val_roc_auc_mean"].tolist()} for s in stages],
        "findings": search_findings(stages),
    })


def chosen_config(profile: Profile) -> dict[str, Any]:
    """input_norm, filters, lr and momentum chosen by notebook 02 for this profile."""
    return read_artifact("02_hyperparameter_search", profile.name)["chosen"]


# What the report kept at each stage: (value, its published key); the coarse learning-rate
# stage has no published number.
REPORT_KEPT: dict[str, tuple[Any, str]] = {
    "input_norm": ("minmax", "search.input_norm.minmax"),
    "filters": (32, "search.filters.32"),
    "lr_fine": (0.0075, "search.lr.0.0075"),
    "momentum": (0.95, "search.momentum.0.95"),
}


def search_comparison(stages: Sequence[StageResult]) -> pd.DataFrame:
    """One row per stage: the value we keep and its validation ROC-AUC beside the report's."""
    from mtlib.published import BY_KEY

    rows = []
    for stage in stages:
        kept, key = REPORT_KEPT.get(stage.name, (None, None))
        rows.append({
            "stage": stage.label,
            "kept (ours)": value_key(stage.best),
            "validation ROC-AUC (ours)": round(stage.score(stage.best), 4),
            "kept (report)": "—" if kept is None else value_key(kept),
            "validation ROC-AUC (report)": BY_KEY[key].shown() if key else "—",
            "same choice": "" if kept is None else ("yes" if stage.best == kept else "no"),
        })
    return pd.DataFrame(rows)
