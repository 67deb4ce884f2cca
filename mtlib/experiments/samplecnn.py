"""Section VIII-B: SampleCNN, from Lee et al.'s recipe to the report's changes (notebook 07)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mtlib.config import RunConfig
from mtlib.experiments import common
from mtlib.experiments.common import mean_std, measurement
from mtlib.profiles import Profile

# Section VIII-B starts from Lee et al.'s recipe: batch norm, SGD with Nesterov momentum 0.9,
# lr 0.01 divided by 5 on a validation plateau, dropout 0.5 before the output (model default).
# No training-set ROC-AUC per epoch (train_eval_clips=0): the report shows no SampleCNN
# training curve, and scoring 200 clips x all segments would cost as much as validation.
SAMPLECNN_START: dict[str, Any] = {
    "model": "samplecnn", "norm": "batch", "nesterov": True, "momentum": 0.9, "lr": 0.01,
    "plateau": True, "input_norm": "none", "train_eval_clips": 0,
}


def samplecnn_base(profile: Profile) -> RunConfig:
    """Lee et al.'s recipe (SAMPLECNN_START) with the profile's SampleCNN budget."""
    return RunConfig(
        dataset=profile.data_name, sample_rate=profile.samplecnn_sample_rate,
        split=profile.data_split, require_tag=profile.data_require_tag,
        batch_clips=profile.samplecnn_batch_clips, epochs=profile.samplecnn_epochs,
        max_train_clips=profile.samplecnn_max_train_clips, **SAMPLECNN_START,
    )


@dataclass
class SampleCNNStudy:
    """The steps of Section VIII-B; ``steps`` has one row per step (validation and test)."""

    steps: pd.DataFrame
    momenta: pd.DataFrame
    best_momentum: float
    final_results: list = field(repr=False, default_factory=list)


def run_samplecnn(profile: Profile, group_count: int, executor: str = "local",
                  progress: bool = True) -> SampleCNNStudy:
    """Recreation -> + group norm -> + no scheduler -> momentum grid -> + more epochs."""
    n = profile.samplecnn_trials
    base = samplecnn_base(profile)
    grouped = base.replace(norm="group", groups=group_count)
    unscheduled = grouped.replace(plateau=False)
    chain = [("recreation (batch norm, plateau scheduler)", base),
             (f"+ group norm (G = {group_count})", grouped),
             ("+ no scheduler", unscheduled)]
    steps, _ = common.run_variants(chain, n, executor, progress)

    ms = list(profile.samplecnn_momenta)
    momenta, _ = common.run_variants(
        [(f"momentum {m:g}", unscheduled.replace(momentum=m)) for m in ms], n, executor, progress)
    best_m = ms[common.best_index(momenta)]
    final = unscheduled.replace(momentum=best_m, epochs=profile.samplecnn_long_epochs)
    long, results = common.run_variants(
        [(f"+ momentum {best_m:g}, {final.epochs} epochs", final)], n, executor, progress)
    best_mrow = momenta.iloc[[ms.index(best_m)]].assign(variant=f"+ momentum {best_m:g}")
    steps = pd.concat([steps, best_mrow, long], ignore_index=True)
    return SampleCNNStudy(steps, momenta, best_m, results)


def samplecnn_findings(study: SampleCNNStudy, guitar_gain: float | None) -> dict[str, dict]:
    s = study.steps
    val = list(zip(s["val_roc_auc_mean"], s["val_roc_auc_std"], s["trials"], s["variant"],
                   strict=True))
    out = {
        "samplecnn.recreation": measurement(*val[0]),
        "samplecnn.group": measurement(*val[1]),
        "samplecnn.no_scheduler_gain": {"value": float(val[2][0] - val[1][0]),
                                        "note": "validation ROC-AUC difference"},
        "samplecnn.long.validation": measurement(*val[4]),
        "samplecnn.long.test": measurement(s["test_roc_auc_mean"].iloc[4],
                                           s["test_roc_auc_std"].iloc[4], s["trials"].iloc[4]),
    }
    out["lee2017.test"] = out["samplecnn.long.test"]
    for r in study.momenta.itertuples():
        m = r.variant.split()[-1]
        out[f"samplecnn.momentum.{m}"] = measurement(r.val_roc_auc_mean, r.val_roc_auc_std,
                                                     r.trials, r.variant)
    if guitar_gain is not None:
        out["samplecnn.guitar_gain"] = {"value": guitar_gain,
                                        "note": "relative gain of the tag guitar, %"}
    return out


def samplecnn_published(study: SampleCNNStudy) -> dict[str, float]:
    """The report's validation ROC-AUC for each of our SampleCNN steps (the no-scheduler step:
    its group-norm value plus the published gain)."""
    from mtlib.published import BY_KEY

    keys = ("samplecnn.recreation", "samplecnn.group", "samplecnn.group",
            "samplecnn.momentum.0.95", "samplecnn.long.validation")
    values = [BY_KEY[k].value for k in keys]
    values[2] += BY_KEY["samplecnn.no_scheduler_gain"].value
    return dict(zip(study.steps["variant"], values, strict=True))


def samplecnn_steps_display(study: SampleCNNStudy) -> pd.DataFrame:
    s = study.steps
    return pd.DataFrame({
        "step": s["variant"],
        "validation ROC-AUC": [mean_std(m, sd) for m, sd in
                               zip(s["val_roc_auc_mean"], s["val_roc_auc_std"], strict=True)],
        "test ROC-AUC": [mean_std(m, sd) for m, sd in
                         zip(s["test_roc_auc_mean"], s["test_roc_auc_std"], strict=True)],
        "validation ROC-AUC (report)": [f"{v:.3f}" for v in samplecnn_published(study).values()],
        "trials": s["trials"],
    })


def compare_per_tag(shallow: pd.DataFrame, samplecnn: pd.DataFrame) -> pd.DataFrame:
    """Per-tag test ROC-AUC of both models (tables from :func:`per_tag_table`) and the
    SampleCNN's relative gain in %, sorted by the shallow model's training count."""
    both = shallow[["tag", "n_train_pos", "roc_auc"]].merge(
        samplecnn[["tag", "roc_auc"]], on="tag", suffixes=("_shallow", "_samplecnn"))
    both["gain_%"] = 100.0 * (both["roc_auc_samplecnn"] / both["roc_auc_shallow"] - 1.0)
    return both


def tag_gain(compare: pd.DataFrame, tag: str) -> float | None:
    """SampleCNN's relative test ROC-AUC gain (%) on ``tag`` over the shallow CNN; None when
    either model has no ROC-AUC for it. ``compare``: :func:`compare_per_tag`."""
    row = compare[compare["tag"] == tag]
    if len(row) == 0 or pd.isna(row["gain_%"].iloc[0]):
        return None
    return float(row["gain_%"].iloc[0])
