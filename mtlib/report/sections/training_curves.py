"""Notebook 04, Figure 3: training curves of the best Table I configuration. Nothing here
trains: the runs come from the run store (artifact of notebook 03)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from mtlib.paper.numbers import shown
from mtlib.report import plots
from mtlib.report.artifacts import write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile
from mtlib.report.sections import length_stride_table
from mtlib.training.rundir import RunResult

SLUG = "04_training_curves"
OVERFIT_GAP = 0.01  # train minus validation ROC-AUC above which the prose says "overfits"


@dataclass
class Curves:
    """``curve``: epoch, {train,val}_roc_auc_{mean,std} over the best pair's trials."""

    curve: pd.DataFrame
    length: int
    stride: int
    trials: int
    best_epoch: int  # peak of the mean validation curve (ties: the earliest)
    trial_best_epochs: list[int]  # each trial's own best epoch

    @property
    def epochs(self) -> int:
        return int(self.curve["epoch"].max())

    @property
    def last_train(self) -> float:
        return float(self.curve["train_roc_auc_mean"].iloc[-1])

    @property
    def last_val(self) -> float:
        return float(self.curve["val_roc_auc_mean"].iloc[-1])

    @property
    def gap(self) -> float:
        """Train minus validation ROC-AUC after the last epoch."""
        return self.last_train - self.last_val

    @property
    def overfits(self) -> bool:
        return self.gap > OVERFIT_GAP


def curves(results: Sequence[RunResult]) -> pd.DataFrame:
    """Per-epoch train and validation ROC-AUC: mean and std over the runs' histories."""
    long = pd.concat([r.history.assign(seed=r.config.seed) for r in results])
    agg = long.groupby("epoch")[["train_roc_auc", "val_roc_auc"]].agg(["mean", "std"])
    agg.columns = [f"{m}_{s}" for m, s in agg.columns]
    return agg.reset_index()


def peak_epoch(curve: pd.DataFrame) -> int:
    """The epoch (1-based) of the highest mean validation ROC-AUC (ties: the earliest)."""
    return int(curve["epoch"].iloc[int(np.nanargmax(curve["val_roc_auc_mean"].to_numpy()))])


def run(profile: Profile) -> Curves:
    (length, stride), results = length_stride_table.best_pair_runs(profile)
    curve = curves(results)
    return Curves(curve, length, stride, len(results), peak_epoch(curve),
                  [int(r.metrics["best_epoch"]) for r in results])


def findings(c: Curves) -> dict[str, dict]:
    return {
        "figure3.best_epoch": {"value": c.best_epoch,
                               "note": "peak of the mean validation curve over trials"},
        "figure3.epochs": {"value": c.epochs, "note": "epochs trained"},
    }


def save(profile: Profile, c: Curves) -> Outputs:
    out = Outputs()
    out.figure(SLUG, plots.training_curves(
        c.curve, c.best_epoch, title=f"length {c.length}, stride {c.stride}, {c.trials} trial(s)"))
    out.table(SLUG, c.curve)
    write_artifact(SLUG, profile.name, {"findings": findings(c)})
    return out


def closing(c: Curves) -> str:
    """The notebook's closing paragraph (Markdown), read off ``c``."""
    verdict = ("the network fits the training clips better than it generalises, as in the "
               "report." if c.overfits else "the network does not overfit within this budget.")
    return (
        f"The mean validation ROC-AUC peaks at epoch **{c.best_epoch} of {c.epochs}** "
        f"(report: {shown('figure3.best_epoch')} of {shown('figure3.epochs')}); the trials' "
        f"own best epochs are {c.trial_best_epochs}. After the last epoch the training ROC-AUC "
        f"is {c.last_train:.3f} and the validation ROC-AUC {c.last_val:.3f}, a gap of "
        f"{c.gap:+.3f}: {verdict}"
    )
