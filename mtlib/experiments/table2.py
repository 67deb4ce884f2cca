"""Table II: normalisation layers, dropout and longer training (notebook 06)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mtlib.config import RunConfig
from mtlib.experiments import common
from mtlib.experiments.common import (
    best_run,
    mean_std,
    measurement,
    write_artifact,
)
from mtlib.profiles import Profile


def norm_variants(profile: Profile) -> list[tuple[str, dict[str, Any]]]:
    """(label, RunConfig changes) for batch, layer and group norm with each group count."""
    out = [("batch norm", {"norm": "batch"}), ("layer norm", {"norm": "layer"})]
    out += [(f"group norm, G = {g}", {"norm": "group", "groups": g})
            for g in profile.table2_group_counts]
    return out


@dataclass
class Table2:
    """The three steps of Table II and the configuration each one keeps."""

    norms: pd.DataFrame  # one row per normalisation variant
    dropouts: pd.DataFrame  # one row per dropout p on the best normalisation
    long: pd.DataFrame  # one row: the best (norm, dropout) trained longer
    best_norm: str
    best_dropout: float
    final_config: RunConfig  # seed 0 of the last row
    final_results: list = field(repr=False, default_factory=list)

    def test_by_norm(self) -> dict[str, float]:
        """Mean test ROC-AUC of batch norm, layer norm and group norm (its best group count on
        validation), best first."""
        norms = self.norms.set_index("variant")["test_roc_auc_mean"]
        out = {"batch norm": norms["batch norm"], "layer norm": norms["layer norm"],
               "group norm": norms[best_group_label(self)]}
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def run_table2(profile: Profile, base: RunConfig, executor: str = "local",
               progress: bool = True) -> Table2:
    """Normalisation variants, then a dropout grid on the best, then longer training.

    Each step keeps the variant with the best mean validation ROC-AUC.
    """
    n = profile.shallow_trials
    variants = norm_variants(profile)
    norms, _ = common.run_variants([(lab, base.replace(**ch)) for lab, ch in variants], n,
                                   executor, progress)
    best_norm, norm_changes = variants[common.best_index(norms)]
    normed = base.replace(**norm_changes)

    ps = list(profile.table2_dropouts)
    drops, _ = common.run_variants(
        [(f"{best_norm} + dropout {p:g}", normed.replace(dropout=p)) for p in ps], n,
        executor, progress)
    best_p = ps[common.best_index(drops)]
    final = normed.replace(dropout=best_p, epochs=profile.shallow_long_epochs)

    long, results = common.run_variants(
        [(f"{best_norm} + dropout {best_p:g} + {final.epochs} epochs", final)], n, executor,
        progress)
    return Table2(norms, drops, long, best_norm, best_p, final, results)


def table2_display(t2: Table2) -> pd.DataFrame:
    """Table II: every variant's test ROC-AUC (%) with the report's number where it has one."""
    from mtlib.published import BY_KEY

    rows = []
    for step, frame in (("normalisation", t2.norms), ("dropout", t2.dropouts),
                        ("epochs", t2.long)):
        for r in frame.itertuples():
            rows.append({"step": step, "variant": r.variant,
                         "validation ROC-AUC": mean_std(r.val_roc_auc_mean, r.val_roc_auc_std),
                         "test ROC-AUC % (ours)": mean_std(r.test_roc_auc_mean,
                                                           r.test_roc_auc_std, 2, True),
                         "test ROC-AUC % (report)": _table2_published(BY_KEY, step, r.variant,
                                                                      t2),
                         "trials": r.trials})
    return pd.DataFrame(rows)


def _table2_key(step: str, variant: str, t2: Table2) -> str | None:
    """The published key of a Table II row: batch, layer, the best group count (the report
    prints one group-norm row), the kept dropout, the longer training."""
    if step == "normalisation":
        if variant.startswith("group"):
            return "table2.group" if variant == best_group_label(t2) else None
        return "table2." + variant.split()[0]
    if step == "dropout":
        return "table2.dropout" if variant.endswith(f"dropout {t2.best_dropout:g}") else None
    return "table2.long"


def best_group_label(t2: Table2) -> str:
    groups = t2.norms[t2.norms["variant"].str.startswith("group")]
    return common.best_row(groups)["variant"]


def _table2_published(by_key: dict, step: str, variant: str, t2: Table2) -> str:
    key = _table2_key(step, variant, t2)
    return by_key[key].shown() if key else ""


def table2_frame(t2: Table2) -> pd.DataFrame:
    """All Table II rows (norms, dropouts, longer training) in one frame."""
    return pd.concat([t2.norms, t2.dropouts, t2.long], ignore_index=True)


def table2_published(t2: Table2) -> dict[str, float]:
    """The report's test ROC-AUC (0-1) for each of our Table II variants it has a row for."""
    from mtlib.published import BY_KEY

    out = {}
    for step, frame in (("normalisation", t2.norms), ("dropout", t2.dropouts),
                        ("epochs", t2.long)):
        for v in frame["variant"]:
            key = _table2_key(step, v, t2)
            if key:
                out[v] = BY_KEY[key].value / 100
    return out


def table2_findings(t2: Table2) -> dict[str, dict]:
    """Test ROC-AUC under the published Table II keys, plus ``table2.kept``: the normalisation
    the dropout step builds on (group norm in the report, whichever won here)."""
    out = {}
    for step, frame in (("normalisation", t2.norms), ("dropout", t2.dropouts),
                        ("epochs", t2.long)):
        for r in frame.itertuples():
            key = _table2_key(step, r.variant, t2)
            if key:
                out[key] = measurement(r.test_roc_auc_mean, r.test_roc_auc_std, r.trials,
                                       r.variant)
            if step == "normalisation" and r.variant == t2.best_norm:
                out["table2.kept"] = measurement(r.test_roc_auc_mean, r.test_roc_auc_std,
                                                 r.trials, r.variant)
    return out


def write_table2(profile: Profile, t2: Table2) -> Path:
    """Artifact ``06_normalisation_dropout``: the kept settings and the final runs."""
    best_group = int(best_group_label(t2).rsplit("=", 1)[1])
    return write_artifact("06_normalisation_dropout", profile, {
        "best_norm": t2.best_norm,
        "best_group_count": best_group,
        "best_dropout": t2.best_dropout,
        "final_config": t2.final_config.to_dict(),
        "final_run_ids": [r.run_id for r in t2.final_results],
        "best_run_id": best_run(t2.final_results).run_id,
        "findings": table2_findings(t2),
    })
