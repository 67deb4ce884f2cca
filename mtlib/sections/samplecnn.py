"""Notebook 07, Section VIII-B: SampleCNN, from Lee et al.'s recipe to the report's changes,
and a per-tag comparison with the best shallow CNN.

The chain: recreation (batch norm, plateau scheduler) -> group norm -> no scheduler -> a
momentum grid (the best on validation is kept) -> more epochs. Each step changes one thing
of the step before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mtlib import plots
from mtlib.artifacts import write_artifact
from mtlib.config import RunConfig
from mtlib.executors import Executor
from mtlib.outputs import Outputs
from mtlib.profiles import Profile
from mtlib.published import BY_KEY
from mtlib.rundir import RunResult
from mtlib.sections.grids import best_index, measurement, run_variants
from mtlib.sections.per_tag_analysis import HIGHLIGHT, per_tag_table
from mtlib.tables import mean_std_column
from mtlib.variants import Variant

SLUG = "07_samplecnn"
PER_TAG_SLUG = "07_samplecnn_per_tag"

# Section VIII-B starts from Lee et al.'s recipe: batch norm, SGD with Nesterov momentum 0.9,
# lr 0.01 divided by 5 on a validation plateau, dropout 0.5 before the output (model default).
# No training-set ROC-AUC per epoch (train_eval_clips=0): the report shows no SampleCNN
# training curve, and scoring 200 clips x all segments would cost as much as validation.
SAMPLECNN_START: dict[str, Any] = {
    "model": "samplecnn", "norm": "batch", "nesterov": True, "momentum": 0.9, "lr": 0.01,
    "plateau": True, "input_norm": "none", "train_eval_clips": 0,
}
CHAIN = ("recreation", "group norm", "no scheduler")  # the steps before the momentum grid
# The report's validation ROC-AUC of each step (the no-scheduler step: the group-norm value
# plus the published gain).
REPORT_STEP_KEYS = {"recreation": "samplecnn.recreation", "group norm": "samplecnn.group",
                    "momentum": "samplecnn.momentum.0.95", "epochs": "samplecnn.long.validation"}


@dataclass
class SampleCNNStudy:
    """``steps``: one row per step (recreation, group norm, no scheduler, the kept momentum,
    more epochs) with validation and test ROC-AUC and the report's validation ROC-AUC;
    ``momenta``: the momentum grid."""

    steps: pd.DataFrame
    momenta: pd.DataFrame
    momentum_values: list[float]
    best_momentum: float
    final_results: list[RunResult] = field(repr=False, default_factory=list)

    @property
    def final_test(self) -> float:
        return float(self.steps["test_roc_auc_mean"].iloc[-1])


@dataclass
class PerTagComparison:
    """``table``: tag, n_train_pos, roc_auc_shallow, roc_auc_samplecnn, gain_% (SampleCNN's
    relative gain), sorted by the training count."""

    table: pd.DataFrame
    shallow_test: float  # mean test ROC-AUC of the shallow model's trials
    wins: int  # tags on which SampleCNN scores higher
    n_tags: int  # tags with a ROC-AUC for both models
    guitar_gain: float | None  # relative gain (%) on HIGHLIGHT; None without a ROC-AUC


def samplecnn_base(profile: Profile) -> RunConfig:
    """Lee et al.'s recipe (SAMPLECNN_START) with the profile's SampleCNN budget."""
    return RunConfig(
        dataset=profile.data_name, sample_rate=profile.samplecnn_sample_rate,
        split=profile.data_split, require_tag=profile.data_require_tag,
        batch_clips=profile.samplecnn_batch_clips, epochs=profile.samplecnn_epochs,
        max_train_clips=profile.samplecnn_max_train_clips, **SAMPLECNN_START,
    )


def _report_step_values() -> dict[str, float]:
    out = {step: BY_KEY[key].value for step, key in REPORT_STEP_KEYS.items()}
    out["no scheduler"] = out["group norm"] + BY_KEY["samplecnn.no_scheduler_gain"].value
    return out


def run(profile: Profile, group_count: int, executor: str | Executor = "local") -> SampleCNNStudy:
    """Recreation -> + group norm -> + no scheduler -> momentum grid -> + more epochs."""
    n = profile.samplecnn_trials
    base = samplecnn_base(profile)
    recreation = Variant(norm="batch", plateau=True)
    grouped = Variant(norm="group", groups=group_count, plateau=True)
    unscheduled = grouped.then(plateau=False)
    chain, _ = run_variants("chain", base, [recreation, grouped, unscheduled], n, executor)
    chain["step"] = list(CHAIN)

    ms = list(profile.samplecnn_momenta)
    momenta, _ = run_variants("momentum", base, [unscheduled.then(momentum=m) for m in ms], n,
                              executor)
    best_m = ms[best_index(momenta)]
    final = unscheduled.then(momentum=best_m, epochs=profile.samplecnn_long_epochs)
    long, results = run_variants("epochs", base, [final], n, executor)
    steps = pd.concat([chain, momenta.iloc[[ms.index(best_m)]], long], ignore_index=True)
    report = _report_step_values()
    steps["report_val_roc_auc"] = [report.get(s, np.nan) for s in steps["step"]]
    return SampleCNNStudy(steps, momenta, ms, best_m, results)


def compare(study: SampleCNNStudy, shallow: Sequence[RunResult]) -> PerTagComparison:
    """Per-tag test ROC-AUC of the final SampleCNN against ``shallow`` (Table II's final
    trials)."""
    a, b = per_tag_table(shallow), per_tag_table(study.final_results)
    table = a[["tag", "n_train_pos", "roc_auc"]].merge(
        b[["tag", "roc_auc"]], on="tag", suffixes=("_shallow", "_samplecnn"))
    table["gain_%"] = 100.0 * (table["roc_auc_samplecnn"] / table["roc_auc_shallow"] - 1.0)
    both = table.dropna()
    row = table[table["tag"] == HIGHLIGHT]
    gain = None if len(row) == 0 or pd.isna(row["gain_%"].iloc[0]) else float(
        row["gain_%"].iloc[0])
    return PerTagComparison(
        table, float(np.mean([r.metrics["test_roc_auc"] for r in shallow])),
        int((both["roc_auc_samplecnn"] > both["roc_auc_shallow"]).sum()), len(both), gain)


def display(study: SampleCNNStudy) -> pd.DataFrame:
    s = study.steps
    return pd.DataFrame({
        "step": s["step"], "variant": s["variant"],
        "validation ROC-AUC": mean_std_column(s, "val_roc_auc"),
        "test ROC-AUC": mean_std_column(s, "test_roc_auc"),
        "validation ROC-AUC (report)": [f"{v:.3f}" for v in s["report_val_roc_auc"]],
        "trials": s["trials"],
    })


def findings(study: SampleCNNStudy, comparison: PerTagComparison) -> dict[str, dict]:
    s = study.steps.set_index("step")

    def val(step: str) -> dict:
        r = s.loc[step]
        return measurement(r["val_roc_auc_mean"], r["val_roc_auc_std"], r["trials"],
                           r["variant"])

    out = {
        "samplecnn.recreation": val("recreation"),
        "samplecnn.group": val("group norm"),
        "samplecnn.no_scheduler_gain": {
            "value": float(s.loc["no scheduler", "val_roc_auc_mean"]
                           - s.loc["group norm", "val_roc_auc_mean"]),
            "note": "validation ROC-AUC difference"},
        "samplecnn.long.validation": val("epochs"),
        "samplecnn.long.test": measurement(s.loc["epochs", "test_roc_auc_mean"],
                                           s.loc["epochs", "test_roc_auc_std"],
                                           s.loc["epochs", "trials"]),
    }
    out["lee2017.test"] = out["samplecnn.long.test"]
    for m, r in zip(study.momentum_values, study.momenta.itertuples(), strict=True):
        out[f"samplecnn.momentum.{m:g}"] = measurement(r.val_roc_auc_mean, r.val_roc_auc_std,
                                                       r.trials, r.variant)
    if comparison.guitar_gain is not None:
        out["samplecnn.guitar_gain"] = {"value": comparison.guitar_gain,
                                        "note": f"relative gain of the tag {HIGHLIGHT}, %"}
    return out


def save(profile: Profile, study: SampleCNNStudy, comparison: PerTagComparison) -> Outputs:
    out = Outputs()
    out.table(SLUG, study.steps, display(study))
    published = dict(zip(study.steps["variant"], study.steps["report_val_roc_auc"], strict=True))
    out.figure(SLUG, plots.variant_bars(study.steps, "val_roc_auc", published,
                                        "validation ROC-AUC"))
    out.table(PER_TAG_SLUG, comparison.table)
    out.figure(PER_TAG_SLUG, plots.per_tag_comparison(comparison.table.dropna(),
                                                      highlight=HIGHLIGHT))
    write_artifact(SLUG, profile.name, {
        "best_momentum": study.best_momentum,
        "final_run_ids": [r.run_id for r in study.final_results],
        "findings": findings(study, comparison),
    })
    return out
