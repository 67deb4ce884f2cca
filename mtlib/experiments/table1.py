"""Table I: the shallow CNN with the chosen settings over (filter length, stride) pairs
(notebook 03), and the best pair that notebooks 04-06 reuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from mtlib.config import RunConfig
from mtlib.experiments.common import (
    aggregate,
    best_row,
    load_runs,
    mean_std,
    measurement,
    read_artifact,
    runs_frame,
    trials,
    write_artifact,
)
from mtlib.profiles import Profile

# The (length, stride) pairs of Dieleman & Schrauwen's spectrogram column in Table I.
LOGMEL_PAIRS: tuple[tuple[int, int], ...] = ((1024, 1024), (256, 256))


def shallow_config(profile: Profile, chosen: dict[str, Any], **changes: Any) -> RunConfig:
    """The Dieleman CNN with the chosen settings and the profile's training budget."""
    cfg = RunConfig(
        dataset=profile.data_name, sample_rate=profile.shallow_sample_rate,
        split=profile.data_split, require_tag=profile.data_require_tag, model="dieleman",
        batch_clips=profile.shallow_batch_clips, epochs=profile.shallow_epochs,
        max_train_clips=profile.shallow_max_train_clips, **chosen,
    )
    return cfg.replace(**changes)


def table1_configs(profile: Profile, chosen: dict[str, Any]) -> list[RunConfig]:
    """Every (length, stride) pair x trials, raw audio; then the log-mel front end for the
    pairs of Dieleman's spectrogram column (when ``table1_logmel``)."""
    configs = []
    for length, stride in profile.table1_pairs:
        configs += trials(shallow_config(profile, chosen, length=length, stride=stride),
                          profile.shallow_trials)
    if profile.table1_logmel:
        for length, stride in logmel_pairs(profile):
            configs += trials(shallow_config(profile, chosen, length=length, stride=stride,
                                             frontend="logmel"), profile.shallow_trials)
    return configs


def logmel_pairs(profile: Profile) -> list[tuple[int, int]]:
    return [p for p in LOGMEL_PAIRS if p in profile.table1_pairs] if profile.table1_logmel else []


def table1(results: Sequence[Any]) -> pd.DataFrame:
    """Mean/std per (frontend, length, stride) over trials, in grid order."""
    return aggregate(runs_frame(results), ["frontend", "length", "stride"])


def table1_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table I as the report prints it, with our numbers (test ROC-AUC in %) beside its own."""
    from mtlib.published import BY_KEY

    raw = table[table["frontend"] == "raw"]
    logmel = {(r.length, r.stride): r for r in table[table["frontend"] == "logmel"].itertuples()}
    rows = []
    for r in raw.itertuples():
        pair = f"{r.length}-{r.stride}"
        lm = logmel.get((r.length, r.stride))
        rows.append({
            "length": r.length,
            "stride": r.stride,
            "ROC-AUC % (ours)": mean_std(r.test_roc_auc_mean, r.test_roc_auc_std, 2, True),
            "PR-AUC (ours)": mean_std(r.test_pr_auc_mean, r.test_pr_auc_std, 3),
            "ROC-AUC % (report)": _published_text(BY_KEY, f"table1.raw.{pair}"),
            "raw (Dieleman)": _published_text(BY_KEY, f"dieleman.raw.{pair}"),
            "log-mel (ours)": "" if lm is None else mean_std(lm.test_roc_auc_mean,
                                                            lm.test_roc_auc_std, 3),
            "spectrogram (Dieleman)": _published_text(BY_KEY, f"dieleman.logmel.{pair}"),
            "trials": r.trials,
        })
    return pd.DataFrame(rows)


def _published_text(by_key: dict, key: str) -> str:
    return by_key[key].shown() if key in by_key else ""


def table1_published() -> dict[str, float]:
    """Published Table I values (AUC, 0-1) keyed ``"report L-S"``, ``"Dieleman raw L-S"``,
    ``"Dieleman spectrogram L-S"`` (see :func:`mtlib.plots.table1_figure`)."""
    from mtlib.published import PUBLISHED

    names = {"table1.raw": "report", "dieleman.raw": "Dieleman raw",
             "dieleman.logmel": "Dieleman spectrogram"}
    out = {}
    for p in PUBLISHED:
        kind, _, pair = p.key.rpartition(".")
        if kind in names:
            out[f"{names[kind]} {pair}"] = p.value / 100 if p.unit == "%" else p.value
    return out


def table1_findings(table: pd.DataFrame) -> dict[str, dict]:
    out = {}
    for r in table.itertuples():
        m = measurement(r.test_roc_auc_mean, r.test_roc_auc_std, r.trials)
        if r.frontend == "raw":
            out[f"table1.raw.{r.length}-{r.stride}"] = m
            out[f"dieleman.raw.{r.length}-{r.length}" if r.length == r.stride else ""] = m
        else:
            out[f"dieleman.logmel.{r.length}-{r.stride}"] = m
    out.pop("", None)
    return out


def write_table1(profile: Profile, table: pd.DataFrame) -> Path:
    """Artifact ``03_length_stride_table``: the best raw pair (by validation) and run ids."""
    raw = table[table["frontend"] == "raw"]
    best = best_row(raw)
    return write_artifact("03_length_stride_table", profile, {
        "best_pair": [int(best["length"]), int(best["stride"])],
        "best_run_ids": list(best["run_ids"]),
        "rows": json.loads(table.to_json(orient="records")),
        "findings": table1_findings(table),
    })


def best_table1_runs(profile: Profile) -> tuple[tuple[int, int], list]:
    """The best Table I pair (by validation) and its trials, read from the run store."""
    art = read_artifact("03_length_stride_table", profile.name)
    runs = load_runs(art["best_run_ids"], "03_length_stride_table", profile.name)
    return tuple(art["best_pair"]), runs
