"""Notebook 03, Table I: the shallow CNN with the chosen settings over (filter length, stride)
pairs, and the best pair that notebooks 04-06 reuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.paper.numbers import BY_KEY, PUBLISHED, shown
from mtlib.report import plots
from mtlib.report.artifacts import read_artifact, write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile, run_config
from mtlib.report.sections.grids import (
    aggregate,
    best_index,
    measurement,
    runs_frame,
    trials,
)
from mtlib.report.tables import mean_std
from mtlib.training.executors import Executor, run_grid
from mtlib.training.rundir import RunResult
from mtlib.training.runs import RunStore

SLUG = "03_length_stride_table"

# The (length, stride) pairs of Dieleman & Schrauwen's spectrogram results (their paper; the
# report prints none of their numbers).
LOGMEL_PAIRS: tuple[tuple[int, int], ...] = ((1024, 1024), (256, 256))
# The pair the output-prior arm trains: the report's best.
PRIOR_ARM_PAIR = (256, 256)


@dataclass
class Table1:
    """``table``: one row per (frontend, output_prior, length, stride) in grid order with
    val/test ROC-AUC and PR-AUC mean/std, trials, run_ids, and the published test ROC-AUC
    (0-1) of the report and of Dieleman & Schrauwen where they give one. The report's arms
    train with the profile's ``shallow.output_prior``; the prior arm with the other value."""

    table: pd.DataFrame
    output_prior: bool  # the profile's setting, that of the report's arms
    results: list[RunResult] = field(repr=False, default_factory=list)

    def _rows(self, frontend: str, prior: bool) -> pd.DataFrame:
        t = self.table
        return t[(t["frontend"] == frontend) & (t["output_prior"] == prior)].reset_index(
            drop=True)

    @property
    def raw(self) -> pd.DataFrame:
        """The report's Table I: raw audio, every pair."""
        return self._rows("raw", self.output_prior)

    @property
    def logmel(self) -> pd.DataFrame:
        return self._rows("logmel", self.output_prior)

    @property
    def prior_arm(self) -> pd.DataFrame:
        """The report's best pair with the output prior switched (empty without the arm)."""
        return self._rows("raw", not self.output_prior)

    def prior_effect(self) -> dict[str, Any] | None:
        """Test ROC-AUC of the prior arm's pair with and without the prior, same seeds."""
        if self.prior_arm.empty:
            return None
        arm = self.prior_arm.iloc[0]
        raw = self.raw.set_index(["length", "stride"])
        same = raw.loc[(arm["length"], arm["stride"])]
        with_prior, without = (same, arm) if self.output_prior else (arm, same)
        return {"length": int(arm["length"]), "stride": int(arm["stride"]),
                "with": float(with_prior["test_roc_auc_mean"]),
                "without": float(without["test_roc_auc_mean"])}

    @property
    def best(self) -> pd.Series:
        """The raw pair with the best validation ROC-AUC (what later notebooks use)."""
        return self.raw.iloc[best_index(self.raw)]

    @property
    def best_on_test(self) -> pd.Series:
        return self.raw.iloc[best_index(self.raw, "test_roc_auc_mean")]

    @property
    def spread(self) -> float:
        """Range of the raw pairs' mean test ROC-AUC."""
        return float(self.raw["test_roc_auc_mean"].max() - self.raw["test_roc_auc_mean"].min())

    @property
    def report_spread(self) -> float:
        values = [p.value / 100 for p in PUBLISHED if p.key.startswith("table1.raw.")]
        return max(values) - min(values)

    def logmel_vs_raw(self) -> list[dict[str, Any]]:
        """Per log-mel pair: length, stride, its test ROC-AUC and the raw pair's."""
        raw = self.raw.set_index(["length", "stride"])["test_roc_auc_mean"]
        return [{"length": r.length, "stride": r.stride, "logmel": r.test_roc_auc_mean,
                 "raw": float(raw[(r.length, r.stride)])} for r in self.logmel.itertuples()]


def shallow_config(profile: Profile, chosen: dict[str, Any], **changes: Any) -> RunConfig:
    """The Dieleman CNN with the chosen settings and the profile's training budget."""
    return run_config(profile, "shallow", **{**chosen, **changes})


def logmel_pairs(profile: Profile) -> list[tuple[int, int]]:
    return [p for p in LOGMEL_PAIRS if p in profile.table1_pairs] if profile.table1_logmel else []


def configs(profile: Profile, chosen: dict[str, Any]) -> list[RunConfig]:
    """Every (length, stride) pair x trials on raw audio; then the log-mel front end for the
    pairs of Dieleman's spectrogram results (``table1.logmel``), and the report's best pair
    with the output prior switched (``table1.prior_arm``)."""
    out = []
    for length, stride in profile.table1_pairs:
        out += trials(shallow_config(profile, chosen, length=length, stride=stride),
                      profile.shallow_trials)
    for length, stride in logmel_pairs(profile):
        out += trials(shallow_config(profile, chosen, length=length, stride=stride,
                                     frontend="logmel"), profile.shallow_trials)
    if profile.table1_prior_arm:
        length, stride = (PRIOR_ARM_PAIR if PRIOR_ARM_PAIR in profile.table1_pairs
                          else profile.table1_pairs[0])
        out += trials(shallow_config(profile, chosen, length=length, stride=stride,
                                     output_prior=not profile.shallow_output_prior),
                      profile.shallow_trials)
    return out


def _published(key: str) -> float:
    if key not in BY_KEY:
        return np.nan
    p = BY_KEY[key]
    return p.value / 100 if p.unit == "%" else p.value


def run(profile: Profile, chosen: dict[str, Any], executor: str | Executor = "local") -> Table1:
    """Train (or reuse) Table I's grid with the search's chosen settings."""
    results = run_grid(configs(profile, chosen), executor=executor, label="Table I")
    table = aggregate(runs_frame(results), ["frontend", "output_prior", "length", "stride"])
    pair = [f"{r.length}-{r.stride}" for r in table.itertuples()]
    raw = (table["frontend"] == "raw") & (table["output_prior"] == profile.shallow_output_prior)
    table["report_test_roc_auc"] = [_published(f"table1.raw.{p}") if r else np.nan
                                    for p, r in zip(pair, raw, strict=True)]
    table["dieleman_test_roc_auc"] = [
        _published(f"dieleman.{f}.{p}") for f, p in zip(table["frontend"], pair, strict=True)]
    return Table1(table, profile.shallow_output_prior, results)


def table_view(t1: Table1) -> pd.DataFrame:
    """Table I as the report prints it (test ROC-AUC in %), ours beside it; Dieleman &
    Schrauwen's own results (their paper, not the report) in the last columns."""
    logmel = {(r.length, r.stride): r for r in t1.logmel.itertuples()}

    def published(key: str) -> str:
        return BY_KEY[key].shown() if key in BY_KEY else ""

    rows = []
    for r in t1.raw.itertuples():
        pair = f"{r.length}-{r.stride}"
        lm = logmel.get((r.length, r.stride))
        rows.append({
            "length": r.length, "stride": r.stride,
            "ROC-AUC % (ours)": mean_std(r.test_roc_auc_mean, r.test_roc_auc_std, 2, True),
            "PR-AUC (ours)": mean_std(r.test_pr_auc_mean, r.test_pr_auc_std, 3),
            "ROC-AUC % (report)": published(f"table1.raw.{pair}"),
            "trials": r.trials,
            "log-mel (ours)": "" if lm is None else mean_std(lm.test_roc_auc_mean,
                                                            lm.test_roc_auc_std, 3),
            "raw (Dieleman 2014)": published(f"dieleman.raw.{pair}"),
            "spectrogram (Dieleman 2014)": published(f"dieleman.logmel.{pair}"),
        })
    return pd.DataFrame(rows)


def findings(t1: Table1) -> dict[str, dict]:
    out = {}
    for r in pd.concat([t1.raw, t1.logmel]).itertuples():
        m = measurement(r.test_roc_auc_mean, r.test_roc_auc_std, r.trials)
        if r.frontend == "raw":
            out[f"table1.raw.{r.length}-{r.stride}"] = m
            if r.length == r.stride:
                out[f"dieleman.raw.{r.length}-{r.stride}"] = m
        else:
            out[f"dieleman.logmel.{r.length}-{r.stride}"] = m
    return out


def save(profile: Profile, t1: Table1) -> Outputs:
    """The table, its figure, and the artifact: the best raw pair (by validation) and its
    runs."""
    out = Outputs()
    out.table(SLUG, t1.table, table_view(t1))
    out.figure(SLUG, plots.table1_figure(pd.concat([t1.raw, t1.logmel])))
    best = t1.best
    write_artifact(SLUG, profile.name, {
        "best_pair": [int(best["length"]), int(best["stride"])],
        "best_run_ids": best["run_ids"].split(),
        "findings": findings(t1),
        "arms": arms(t1),
    })
    return out


PRIOR_ARM = Arm("table1", "prior_arm")


def pair_arm(frontend: str, length: int, stride: int) -> Arm:
    """``table1.<frontend>.<L>-<S>``: the runs of one pair on one front end."""
    return Arm("table1", frontend, f"{length}-{stride}")


def arm_runs(t1: Table1) -> dict[Arm, list[str]]:
    """Run ids per arm: every pair on each front end (:func:`pair_arm`) and :data:`PRIOR_ARM`."""
    out = {pair_arm(r.frontend, r.length, r.stride): r.run_ids.split()
           for r in pd.concat([t1.raw, t1.logmel]).itertuples()}
    if not t1.prior_arm.empty:
        out[PRIOR_ARM] = t1.prior_arm["run_ids"].iloc[0].split()
    return out


def arms(t1: Table1) -> dict[str, list[str]]:
    """:func:`arm_runs` under the arms' keys (see :mod:`mtlib.report.verdicts`)."""
    return {arm.key: ids for arm, ids in arm_runs(t1).items()}


def best_pair_runs(profile: Profile) -> tuple[tuple[int, int], list[RunResult]]:
    """The best Table I pair (by validation) and its trials, read from the run store."""
    art = read_artifact(SLUG, profile.name)
    runs = RunStore().require(art["best_run_ids"], f"notebook {SLUG}")
    return (int(art["best_pair"][0]), int(art["best_pair"][1])), runs


def closing(t1: Table1) -> str:
    """The notebook's closing paragraph (Markdown), read off ``t1``."""
    best, best_test, prior = t1.best, t1.best_on_test, t1.prior_effect()
    report_best = int(BY_KEY["table1.best.length_stride"].value)
    text = (
        f"By validation ROC-AUC the best pair is **{best['length']}/{best['stride']}**, by "
        f"test ROC-AUC **{best_test['length']}/{best_test['stride']}** "
        f"({best_test['test_roc_auc_mean']:.3f}); the report's best is "
        f"{report_best}/{report_best} ({shown(pair_arm('raw', report_best, report_best).key)})."
        f" The {len(t1.raw)} pairs span {t1.spread:.3f} test ROC-AUC here; the report's "
        f"seven span {t1.report_spread:.4f}. Later notebooks use the pair that is best on "
        "validation."
    )
    for c in t1.logmel_vs_raw():
        better = "better" if c["logmel"] > c["raw"] else "worse"
        text += (f" With {c['length']}/{c['stride']}, the log-mel front end scores "
                 f"{c['logmel']:.3f} against {c['raw']:.3f} for raw audio ({better}; in "
                 "Dieleman & Schrauwen the spectrogram is better).")
    if prior is not None:
        text += (f" Our output-bias prior: {prior['length']}/{prior['stride']} scores "
                 f"{prior['with']:.3f} with it and {prior['without']:.3f} without it (same "
                 f"seeds, {prior['with'] - prior['without']:+.3f}).")
    return text
