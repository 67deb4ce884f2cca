"""Notebook 07, Section VIII-B: SampleCNN, from Lee et al.'s recipe to the report's changes,
and a per-tag comparison with the best shallow CNN.

The chain: recreation (batch norm, plateau scheduler) -> the normalisations of the profile
(the best on validation is kept; the report compares group, batch and none) -> no scheduler ->
a momentum grid (the best on validation is kept) -> more epochs. Each step changes one thing
of the step before. Lee et al.'s own recipe can be trained beside the chain as a reference.
:func:`listening` picks the test clips on which the two models disagree most about guitar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.paper.numbers import BY_KEY, shown
from mtlib.paper.recipes import LEE_RECIPE, SAMPLECNN_START
from mtlib.report import listening as listen
from mtlib.report import plots
from mtlib.report.artifacts import write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile, run_config
from mtlib.report.sections.grids import measurement
from mtlib.report.sections.per_tag_analysis import HIGHLIGHT, per_tag_table
from mtlib.report.study import (
    Chain,
    ChainResult,
    Kept,
    Option,
    Step,
    run_chain,
    variant_options,
)
from mtlib.report.tables import mean_std_column
from mtlib.training.executors import Executor
from mtlib.training.rundir import RunResult
from mtlib.training.variants import Variant

SLUG = "07_samplecnn"
PER_TAG_SLUG = "07_samplecnn_per_tag"
LISTEN = "07_listen_guitar"  # the clips on which the two models disagree most about HIGHLIGHT
N_DISAGREE = 3  # clips each way

LEE_STEP = "Lee et al.'s recipe"
STEPS = ("recreation", "normalisation", "no scheduler", "momentum", "epochs")
LEE_LABEL = "Lee et al. 2017: 22.05 kHz, batch 23, segments, per-segment loss"
# The report's ROC-AUC of each step: (set, published key).
REPORT_STEP_KEYS = {"recreation": ("test", "samplecnn.recreation"),
                    "normalisation": ("val", "samplecnn.group"),
                    "momentum": ("val", "samplecnn.momentum.0.95"),
                    "epochs": ("val", "samplecnn.long.validation")}


@dataclass
class SampleCNNStudy:
    """``steps``: one row per step (recreation, the kept normalisation, no scheduler, the kept
    momentum, more epochs; then Lee et al.'s recipe when trained) with validation and test
    ROC-AUC and the report's number (``report_val_roc_auc`` / ``report_test_roc_auc``);
    ``norms`` and ``momenta``: the two grids."""

    steps: pd.DataFrame
    norms: pd.DataFrame
    momenta: pd.DataFrame
    norm_arms: list[Variant]
    momentum_values: list[float]
    kept_norm: Variant
    best_momentum: float
    study: ChainResult = field(repr=False)
    final_results: list[RunResult] = field(repr=False, default_factory=list)

    def __post_init__(self) -> None:
        self.final_results = self.final_results or self.study.step("epochs").runs[0]

    def step(self, name: str) -> pd.Series:
        return self.steps.set_index("step").loc[name]

    @property
    def final_test(self) -> float:
        return float(self.step("epochs")["test_roc_auc_mean"])

    @property
    def recreation_test(self) -> float:
        return float(self.step("recreation")["test_roc_auc_mean"])

    @property
    def lee_test(self) -> float | None:
        return (float(self.step(LEE_STEP)["test_roc_auc_mean"])
                if LEE_STEP in set(self.steps["step"]) else None)


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
    """Lee et al.'s recipe (SAMPLECNN_START) with the report's changes and the profile's
    budget: its sample rate, batch, segments, loss, precision."""
    return run_config(profile, "samplecnn", **SAMPLECNN_START)


def lee_config(profile: Profile) -> RunConfig:
    """Lee et al.'s own recipe with the profile's epochs and training clips."""
    return samplecnn_base(profile).replace(**LEE_RECIPE)


def norm_variant(norm: str, groups: int) -> Variant:
    return Variant(norm=norm, groups=groups if norm == "group" else None, plateau=True)


def chain(profile: Profile, group_count: int) -> Chain:
    """The five steps, each changing one thing of the step before. The recreation and the
    normalisations do not depend on each other's outcome, nor do dropping the scheduler and
    the momentum grid: each pair trains as one grid. Lee et al.'s recipe (when the profile
    trains it) needs nothing of the chain: it trains in the chain's first grid."""
    def unscheduled(kept: Kept) -> Variant:
        return kept.option.value.then(plateau=False)

    steps = [
        Step("recreation", variant_options(lambda k: [Variant(norm="batch", plateau=True)],
                                           lambda v: Arm("samplecnn", "recreation")),
             keep=None),
        Step("normalisation", variant_options(
            lambda k: [norm_variant(x, group_count) for x in profile.samplecnn_norms],
            lambda v: Arm("samplecnn", "norm", v.norm)),
            kept_arm=Arm("samplecnn", "normalisation"), joins_previous=True),
        Step("no scheduler", variant_options(lambda k: [unscheduled(k)],
                                             lambda v: Arm("samplecnn", "no_scheduler"))),
        Step("momentum", variant_options(
            lambda k: [unscheduled(k).then(momentum=m) for m in profile.samplecnn_momenta],
            lambda v: Arm("samplecnn", "momentum", f"{v.momentum:g}")),
            kept_arm=Arm("samplecnn", "momentum"), joins_previous=True),
        Step("epochs", variant_options(
            lambda k: [k.option.value.then(epochs=profile.samplecnn_long_epochs)],
            lambda v: Arm("samplecnn", "long"))),
    ]
    if profile.samplecnn_lee_reference:
        steps.append(Step(LEE_STEP, lambda k: [Option(
            Arm("samplecnn", "lee"), lee_config(profile), LEE_LABEL, Variant(),
            Variant().columns())], keep=None, independent=True))
    return Chain(tuple(steps))


def run(profile: Profile, group_count: int, executor: str | Executor = "local") -> SampleCNNStudy:
    """Recreation -> normalisations (kept on validation) -> no scheduler -> momentum grid ->
    more epochs; and Lee et al.'s recipe beside them (``samplecnn.lee_reference``)."""
    result = run_chain(chain(profile, group_count), samplecnn_base(profile),
                       profile.samplecnn_trials, executor)
    steps = pd.concat([s.row for s in result.steps], ignore_index=True)
    report = _report_step_values()
    steps["report_val_roc_auc"] = [report.get(("val", s), np.nan) for s in steps["step"]]
    steps["report_test_roc_auc"] = [report.get(("test", s), np.nan) for s in steps["step"]]
    norms, momenta = result.step("normalisation"), result.step("momentum")
    return SampleCNNStudy(steps, norms.table, momenta.table, [o.value for o in norms.options],
                          [o.value.momentum for o in momenta.options], norms.kept_option.value,
                          momenta.kept_option.value.momentum, result)


def _report_step_values() -> dict[tuple[str, str], float]:
    out = {(split, step): BY_KEY[key].value for step, (split, key) in REPORT_STEP_KEYS.items()}
    out[("val", "no scheduler")] = (out[("val", "normalisation")]
                                    + BY_KEY["samplecnn.no_scheduler_gain"].value)
    out[("test", "epochs")] = BY_KEY["samplecnn.long.test"].value
    out[("test", LEE_STEP)] = BY_KEY["lee2017.test"].value
    return out


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


def table_view(study: SampleCNNStudy) -> pd.DataFrame:
    s = study.steps

    def report(column: str) -> list[str]:
        return ["" if pd.isna(v) else f"{v:.3f}" for v in s[column]]

    return pd.DataFrame({
        "step": s["step"], "variant": s["variant"],
        "validation ROC-AUC": mean_std_column(s, "val_roc_auc"),
        "validation (report)": report("report_val_roc_auc"),
        "test ROC-AUC": mean_std_column(s, "test_roc_auc"),
        "test (report)": report("report_test_roc_auc"),
        "trials": s["trials"],
    })


def findings(study: SampleCNNStudy, comparison: PerTagComparison) -> dict[str, dict]:
    """Our numbers under the published keys: the recreation on test (as the report scores
    it), the group-norm arm and the momenta on validation, the last step on both."""

    def val(row: pd.Series) -> dict:
        return measurement(row["val_roc_auc_mean"], row["val_roc_auc_std"], row["trials"],
                           row["variant"])

    def test(row: pd.Series) -> dict:
        return measurement(row["test_roc_auc_mean"], row["test_roc_auc_std"], row["trials"],
                           row["variant"])

    out = {
        "samplecnn.recreation": test(study.step("recreation")),
        "samplecnn.no_scheduler_gain": {
            "value": float(study.step("no scheduler")["val_roc_auc_mean"]
                           - study.step("normalisation")["val_roc_auc_mean"]),
            "note": "validation ROC-AUC difference to the kept normalisation"},
        "samplecnn.long.validation": val(study.step("epochs")),
        "samplecnn.long.test": test(study.step("epochs")),
    }
    for arm, (_, row) in zip(study.norm_arms, study.norms.iterrows(), strict=True):
        if arm.norm == "group":
            out["samplecnn.group"] = val(row)
    if study.lee_test is not None:
        out["lee2017.test"] = test(study.step(LEE_STEP))
    for m, (_, row) in zip(study.momentum_values, study.momenta.iterrows(), strict=True):
        out[f"samplecnn.momentum.{m:g}"] = val(row)
    if comparison.guitar_gain is not None:
        out["samplecnn.guitar_gain"] = {"value": comparison.guitar_gain,
                                        "note": f"relative gain of the tag {HIGHLIGHT}, %"}
    return out


def listening(profile: Profile, study: SampleCNNStudy,
              shallow: Sequence[RunResult]) -> listen.Listening:
    """The :data:`N_DISAGREE` test clips that the final SampleCNN ranks highest for
    :data:`HIGHLIGHT` relative to the shallow CNN (first trial of each), then those the
    shallow CNN ranks highest relative to SampleCNN
    (:func:`mtlib.report.listening.disagreements`). The audio: the shallow CNN's cache."""
    deep = listen.Scores.of(study.final_results[0], "SampleCNN")
    base = listen.Scores.of(shallow[0], "shallow CNN")
    config = shallow[0].config
    return listen.Listening(
        f"where SampleCNN and the shallow CNN disagree most about {HIGHLIGHT}",
        tuple(listen.disagreements(deep, base, HIGHLIGHT, N_DISAGREE)), config.dataset,
        config.sample_rate, listen.attribution(profile.data_source))


def save(profile: Profile, study: SampleCNNStudy, comparison: PerTagComparison,
         clips: listen.Listening | None = None) -> Outputs:
    """The steps and the per-tag comparison, then ``clips`` to listen to (:func:`listening`;
    None shows none)."""
    out = Outputs()
    out.table(SLUG, study.steps, table_view(study))
    out.figure(SLUG, plots.variant_bars(study.steps, "val_roc_auc", "validation ROC-AUC",
                                        reference="report_val_roc_auc"))
    out.table(PER_TAG_SLUG, comparison.table)
    out.figure(PER_TAG_SLUG, plots.per_tag_comparison(comparison.table.dropna(),
                                                      highlight=HIGHLIGHT))
    if clips is not None:
        out.listening(LISTEN, clips)
    write_artifact(SLUG, profile.name, {
        "best_momentum": study.best_momentum,
        "final_run_ids": [r.run_id for r in study.final_results],
        "findings": findings(study, comparison),
        "arms": arms(study),
    })
    return out


def arms(study: SampleCNNStudy) -> dict[str, list[str]]:
    """Run ids per arm (see :mod:`mtlib.report.verdicts`): ``samplecnn.recreation``,
    ``samplecnn.norm.<norm>`` and the kept ``samplecnn.normalisation``,
    ``samplecnn.no_scheduler``, ``samplecnn.momentum.<m>`` and the kept ``samplecnn.momentum``,
    ``samplecnn.long``, ``samplecnn.lee``."""
    return study.study.arm_keys()


def closing(study: SampleCNNStudy, c: PerTagComparison) -> str:
    """The notebook's closing paragraph (Markdown), read off ``study`` and the per-tag
    comparison ``c``."""
    steps = study.steps
    along = "; ".join(f"{step} {auc:.3f}"
                      for step, auc in zip(steps["step"], steps["val_roc_auc_mean"], strict=True))
    reported = shown("samplecnn.group", "samplecnn.no_scheduler_gain",
                     "samplecnn.momentum.0.95", "samplecnn.long.validation")
    better = "better" if study.final_test > c.shallow_test else "worse"
    guitar = (f"On guitar it changes the test ROC-AUC by {c.guitar_gain:+.1f}% (report: "
              f"{shown('samplecnn.guitar_gain')}). " if c.guitar_gain is not None
              else "Guitar has no test ROC-AUC on this dataset. ")
    lee = ("" if study.lee_test is None else
           f"Lee et al.'s own recipe scores {study.lee_test:.3f} test ROC-AUC (their paper, "
           f"fully trained: {shown('lee2017.test')}).")
    return (
        f"Validation ROC-AUC along the steps: {along} (report: {reported} from the "
        f"normalisation step on). The recreation scores {study.recreation_test:.3f} test "
        f"ROC-AUC (report: {shown('samplecnn.recreation')}); the kept normalisation is "
        f"**{study.kept_norm.label}**. The final SampleCNN scores {study.final_test:.3f} test "
        f"ROC-AUC against {c.shallow_test:.3f} for the best shallow CNN ({better}; report: "
        f"{shown('samplecnn.long.test')} vs {shown('table2.long')}) and is better on {c.wins} "
        f"of {c.n_tags} tags. {guitar}{lee}"
    )
