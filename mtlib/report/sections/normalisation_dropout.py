"""Notebook 06, Table II: normalisation layers, dropout and longer training on the best
Table I pair.

Three steps, each keeping the variant with the best mean validation ROC-AUC: batch, layer and
group norm (every group count of the profile); a dropout grid on the kept normalisation; the
kept (normalisation, dropout) trained for ``shallow_long_epochs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.paper.numbers import BY_KEY, shown
from mtlib.report import plots
from mtlib.report.artifacts import read_artifact, write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile
from mtlib.report.sections import hyperparameter_search, length_stride_table
from mtlib.report.sections.grids import best_index, best_run, measurement
from mtlib.report.study import Chain, ChainResult, Step, run_chain, variant_options
from mtlib.report.tables import mean_std_column
from mtlib.training.executors import Executor
from mtlib.training.rundir import RunResult
from mtlib.training.runs import RunStore
from mtlib.training.variants import Variant

SLUG = "06_normalisation_dropout"
STEPS = ("normalisation", "dropout", "epochs")
KEPT = Arm("table2", "kept")  # the normalisation the dropout step builds on


@dataclass
class Table2:
    """The three steps of :func:`chain` (tables as :class:`~mtlib.report.study.StepResult`
    makes them, each with ``report_test_roc_auc`` where the report prints the row, ``kept`` and
    ``best_on_test``) and what each step kept."""

    norms: pd.DataFrame
    dropouts: pd.DataFrame
    long: pd.DataFrame
    kept_norm: Variant  # the normalisation the dropout step builds on
    best_group: Variant  # the group-norm variant with the best validation ROC-AUC
    best_dropout: float
    final_config: RunConfig  # seed 0 of the last step
    study: ChainResult = field(repr=False)

    @property
    def arms(self) -> dict[str, list[Variant]]:
        """The variants of each step, by step name."""
        return {s.step.name: [o.value for o in s.options] for s in self.study.steps}

    @property
    def final_results(self) -> list[RunResult]:
        return self.study.step("epochs").runs[0]

    def steps(self):
        """``(step, table, variants)`` for the three steps, in order."""
        return zip(STEPS, (self.norms, self.dropouts, self.long),
                   (self.arms[s] for s in STEPS), strict=True)

    @property
    def frame(self) -> pd.DataFrame:
        """All rows, step by step."""
        return pd.concat([self.norms, self.dropouts, self.long], ignore_index=True)

    @property
    def test_rule_norm(self) -> Variant:
        """The normalisation the report's rule (the best test ROC-AUC) would keep."""
        return self.arms["normalisation"][best_index(self.norms, "test_roc_auc_mean")]

    def test_by_norm(self) -> dict[str, float]:
        """Mean test ROC-AUC of batch norm, layer norm and group norm (its best group count on
        validation), best first."""
        arms, test = self.arms["normalisation"], self.norms["test_roc_auc_mean"]
        pick = {"batch norm": Variant(norm="batch"), "layer norm": Variant(norm="layer"),
                "group norm": self.best_group}
        out = {name: float(test.iloc[arms.index(v)]) for name, v in pick.items()}
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    @property
    def final_test(self) -> float:
        return float(self.long["test_roc_auc_mean"].iloc[0])

    @property
    def gain_over_batch(self) -> float:
        """Final test ROC-AUC minus batch norm's."""
        return self.final_test - self.test_by_norm()["batch norm"]


# The report's Table II: the final row's gain over batch norm, in points of %.
REPORT_GAIN_OVER_BATCH = BY_KEY["table2.long"].value - BY_KEY["table2.batch"].value


def base_config(profile: Profile) -> RunConfig:
    """The shallow CNN with notebook 02's chosen settings on notebook 03's best pair. No
    training-set curve: only Figure 3 (Table I's runs) reads one, and notebook 09's arms
    inherit this."""
    (length, stride), _ = length_stride_table.best_pair_runs(profile)
    return length_stride_table.shallow_config(
        profile, hyperparameter_search.chosen_config(profile), length=length, stride=stride,
        train_eval_clips=0)


def norm_variants(profile: Profile) -> list[Variant]:
    return [Variant(norm="batch"), Variant(norm="layer")] + [
        Variant(norm="group", groups=g) for g in profile.table2_group_counts]


def norm_arm(v: Variant) -> Arm:
    """``table2.batch``, ``table2.layer``, ``table2.group.<G>``."""
    return Arm("table2", v.norm, str(v.groups) if v.norm == "group" else "")


def chain(profile: Profile) -> Chain:
    """Table II as a chain: the normalisations (the kept one is ``table2.kept``, the best group
    count ``table2.group``), a dropout grid on it (the kept p is ``table2.dropout``), the kept
    pair trained for ``shallow_long_epochs`` (``table2.long``)."""
    return Chain((
        Step("normalisation", variant_options(lambda k: norm_variants(profile), norm_arm),
             kept_arm=KEPT, picks=((Arm("table2", "group"), lambda o: o.value.norm == "group"),)),
        Step("dropout", variant_options(
            lambda k: [k.option.value.then(dropout=p) for p in profile.table2_dropouts],
            lambda v: Arm("table2", "dropout", f"{v.dropout:g}")),
            kept_arm=Arm("table2", "dropout")),
        Step("epochs", variant_options(
            lambda k: [k.option.value.then(epochs=profile.shallow_long_epochs)],
            lambda v: Arm("table2", "long"))),
    ))


def run(profile: Profile, base: RunConfig, executor: str | Executor = "local") -> Table2:
    """Normalisation variants, then a dropout grid on the best, then longer training."""
    result = run_chain(chain(profile), base, profile.shallow_trials, executor)
    norms, dropouts, long = result.steps
    best_group = norms.options[norms.names()[Arm("table2", "group")]].value
    t2 = Table2(norms.table, dropouts.table, long.table, norms.kept_option.value, best_group,
                dropouts.kept_option.value.dropout, result.config, result)
    for step in result.steps:
        table, names = step.table, step.names()
        published = {i: a.key for a, i in reversed(names.items()) if a.key in BY_KEY}
        table["report_test_roc_auc"] = [BY_KEY[published[i]].value / 100 if i in published
                                        else np.nan for i in range(len(table))]
        # Our rule keeps the best on validation; the report chose the normalisation on test.
        table["kept"] = [i == step.kept for i in range(len(table))]
        table["best_on_test"] = [i == best_index(table, "test_roc_auc_mean")
                                 for i in range(len(table))]
    return t2


def table_view(t2: Table2) -> pd.DataFrame:
    """Table II: every variant's test ROC-AUC (%) with the report's number where it has one,
    the variant each step keeps (validation) and the one the report's rule would keep (test)."""
    f = t2.frame
    return pd.DataFrame({
        "step": f["step"], "variant": f["variant"],
        "validation ROC-AUC": mean_std_column(f, "val_roc_auc"),
        "test ROC-AUC % (ours)": mean_std_column(f, "test_roc_auc", 2, percent=True),
        "test ROC-AUC % (report)": ["" if pd.isna(v) else f"{100 * v:.2f}%"
                                    for v in f["report_test_roc_auc"]],
        "trials": f["trials"],
        "kept (validation)": ["yes" if k else "" for k in f["kept"]],
        "best on test": ["yes" if b else "" for b in f["best_on_test"]],
    })


def findings(t2: Table2) -> dict[str, dict]:
    """Test ROC-AUC under the published Table II keys (arms of the same name: batch, layer,
    the best group count, the kept dropout, the longer training), plus ``table2.kept``: the
    normalisation the dropout step builds on (group norm in the report, whichever won here)."""
    out = {}
    for step in t2.study.steps:
        for arm, i in step.names().items():
            if arm.key in BY_KEY or arm == KEPT:
                r = step.table.iloc[i]
                out[arm.key] = measurement(r["test_roc_auc_mean"], r["test_roc_auc_std"],
                                           r["trials"], step.options[i].label)
    return out


def save(profile: Profile, t2: Table2) -> Outputs:
    """The table, its figure, the artifact (the kept settings and the final runs, which
    notebooks 07 and 09 use) and the tagger bundle of the best final trial (``mtlib tag``)."""
    out = Outputs()
    out.table(SLUG, t2.frame, table_view(t2))
    out.figure(SLUG, plots.variant_bars(t2.frame, "test_roc_auc", "test ROC-AUC",
                                        reference="report_test_roc_auc"))
    write_artifact(SLUG, profile.name, {
        "kept_norm": t2.kept_norm.changes(),
        "best_group_count": t2.best_group.groups,
        "best_dropout": t2.best_dropout,
        "final_config": t2.final_config.to_dict(),
        "final_run_ids": [r.run_id for r in t2.final_results],
        "best_run_id": best_run(t2.final_results).run_id,
        "findings": findings(t2),
        "arms": arms(t2),
    })
    best = best_run(t2.final_results)
    if best.run_dir is not None:  # a recorded run (the plan, tests) has no weights to bundle
        out.bundle(SLUG, profile.name, best)
    return out


def arms(t2: Table2) -> dict[str, list[str]]:
    """Run ids per arm (see :mod:`mtlib.report.verdicts`): ``table2.<norm>`` (group norm:
    ``table2.group.<G>`` and ``table2.group`` for the best G), ``table2.kept`` (the kept
    normalisation), ``table2.dropout.<p>`` and ``table2.dropout`` (the kept p), ``table2.long``."""
    return t2.study.arm_keys()


def best_group_count(profile: Profile) -> int:
    """The group count notebook 06 found best on validation (SampleCNN's group norm uses it)."""
    return int(read_artifact(SLUG, profile.name)["best_group_count"])


def final_runs(profile: Profile) -> list[RunResult]:
    """The trials of Table II's last row, from the run store."""
    ids = read_artifact(SLUG, profile.name)["final_run_ids"]
    return RunStore().require(ids, f"notebook {SLUG}")


REPORT_NORMS = ("group", "layer", "batch")  # Table II's rows: table2.<norm> in paper.numbers


def closing(t2: Table2) -> str:
    """The notebook's closing paragraph (Markdown), read off ``t2``."""
    by_norm = ", ".join(f"{name} {auc:.3f}" for name, auc in t2.test_by_norm().items())
    order = " > ".join(sorted(REPORT_NORMS, key=lambda n: -BY_KEY[f"table2.{n}"].value))
    return (
        f"Test ROC-AUC by normalisation: {by_norm} (group norm: the best group count on "
        f"validation, G = {t2.best_group.groups}); the report's order is {order}. On "
        f"validation we keep **{t2.kept_norm.label}** and dropout **{t2.best_dropout:g}** "
        f"(report: group norm, {shown('table2.dropout_p')}). Training it for "
        f"{t2.final_config.epochs} epochs gives {t2.final_test:.3f} (report: "
        f"{shown('table2.long')}), {t2.gain_over_batch:+.3f} over batch norm (report: "
        f"{REPORT_GAIN_OVER_BATCH:+.2f} points). The report chose the normalisation on test; "
        f"that rule would keep **{t2.test_rule_norm.label}** here."
    )
