"""Shared pieces of the experiments: artifacts, aggregation over trials, formatting, and the
one entry to training, :func:`run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

import mtlib
from mtlib import paths
from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.io import atomic_write_json
from mtlib.profiles import Profile, differences, load_profile

METRICS = ("val_roc_auc", "test_roc_auc", "test_pr_auc")


def artifact_path(slug: str, profile: str) -> Path:
    return paths.artifacts_dir() / f"{slug}-{profile}.json"


def write_artifact(slug: str, profile: Profile, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the profile and mtlib version) as ``<slug>-<profile>.json``."""
    path = artifact_path(slug, profile.name)
    atomic_write_json(path, {"notebook": slug, "profile": profile.name,
                             "mtlib_version": mtlib.__version__, **payload})
    return path


def read_artifact(slug: str, profile: str) -> dict[str, Any]:
    """The artifact a notebook wrote; MtlibError naming the notebook to run first."""
    path = artifact_path(slug, profile)
    if not path.is_file():
        raise MtlibError(
            f"{path}: missing; run notebook {slug} with profile {profile!r} first "
            f"(`mtlib report --profile {profile} --only {slug[:2]}`)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MtlibError(f"{path}: expected a JSON artifact ({err})") from err


def load_runs(run_ids: Sequence[str], made_by: str, profile: str) -> list:
    """Finished runs by id; MtlibError naming the notebook that trains them if one is missing."""
    from mtlib.runs import RunStore

    store = RunStore()
    out = []
    for run_id in run_ids:
        result = store.load(run_id)
        if result is None:
            raise MtlibError(
                f"run {run_id} is not in the run store; run notebook {made_by} with profile "
                f"{profile!r} first"
            )
        out.append(result)
    return out


def runs_frame(results: Sequence[Any]) -> pd.DataFrame:
    """One row per run: run_id, every RunConfig field, and its headline metrics."""
    rows = []
    for r in results:
        row = {"run_id": r.run_id, **r.config.to_dict()}
        row["tags"] = ",".join(row["tags"])
        for key in (*METRICS, "best_epoch", "epochs_run", "train_seconds"):
            row[key] = r.metrics.get(key, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate(frame: pd.DataFrame, by: Sequence[str],
              metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean, sample std (NaN for one trial) and trial count of ``metrics`` per group of ``by``.

    Groups keep the order in which they first appear in ``frame``.
    """
    by = list(by)
    grouped = frame.groupby(by, sort=False, dropna=False)
    out = grouped[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{m}_{stat}" for m, stat in out.columns]
    out["trials"] = grouped.size()
    out["run_ids"] = grouped["run_id"].agg(list)
    return out.reset_index()


def variant_table(labels: list[str], results: list, n: int) -> pd.DataFrame:
    """Mean/std per variant: ``results`` holds ``n`` consecutive trials of each label."""
    frame = runs_frame(results)
    frame["variant"] = [lab for lab in labels for _ in range(n)]
    return aggregate(frame, ["variant"])


def best_index(table: pd.DataFrame, metric: str = "val_roc_auc_mean") -> int:
    """Position of the row with the highest ``metric`` (ties: first; NaN never wins)."""
    return int(np.nanargmax(table[metric].to_numpy()))


def best_row(table: pd.DataFrame, metric: str = "val_roc_auc_mean") -> pd.Series:
    """The row with the highest ``metric`` (ties: first)."""
    return table.iloc[best_index(table, metric)]


def best_run(results: Sequence[Any]) -> Any:
    """The run with the best validation ROC-AUC (ties: the lower seed)."""
    return max(results, key=lambda r: (r.metrics["val_roc_auc"], -r.config.seed))


def mean_std(mean: float, std: float, digits: int = 3, percent: bool = False) -> str:
    """``0.812 ± 0.004`` (or ``81.2 ± 0.4`` with ``percent``); no ``±`` part for one trial."""
    if pd.isna(mean):
        return "—"
    scale = 100.0 if percent else 1.0
    text = f"{mean * scale:.{digits}f}"
    return text if pd.isna(std) else f"{text} ± {std * scale:.{digits}f}"


def measurement(mean: float, std: float = float("nan"), n: int = 1, note: str = "") -> dict:
    """A finding in AUC units (0-1) as stored in the artifacts."""
    return {"mean": float(mean), "std": None if pd.isna(std) else float(std), "n": int(n),
            "note": note}


def value_key(value: Any) -> str:
    """The key form of a grid value: ``0.0075``, ``32``, ``minmax``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings_note(profile: Profile, fields: Sequence[str]) -> str:
    """Markdown: which of ``fields`` this profile sets differently from the report (``full``)."""
    full = load_profile("full")
    changed = differences(profile, full, list(fields))
    if profile.data_source == "standin":
        head = (f"Profile **{profile.name}** trains on the stand-in corpus "
                f"`{profile.data_name}` ({profile.data_clips} generated clips), not on MTAT.")
    else:
        head = f"Profile **{profile.name}** trains on MagnaTagATune at `{profile.data_root}`."
    if not changed:
        return head + " These settings match the report's (profile `full`)."
    lines = [f"- `{f}`: {ours} here, {ref} in the report" for f, ours, ref in changed]
    return head + " It shrinks these settings relative to the report (profile `full`):\n" + (
        "\n".join(lines))


def trials(config: RunConfig, n: int) -> list[RunConfig]:
    return [config.replace(seed=k) for k in range(n)]


def pending_count(configs: Sequence[RunConfig]) -> tuple[int, int]:
    """``(already finished in the run store, total)`` over distinct configs."""
    from mtlib.runs import RunStore

    store = RunStore()
    unique = {c.run_id: c for c in configs}
    done = sum(store.is_finished(c) for c in unique.values())
    return done, len(unique)


def run(configs: Sequence[RunConfig], executor: str = "local", progress: bool = True) -> list:
    """Train or reuse ``configs`` through :func:`mtlib.executors.run_grid`, saying how many
    are already in the run store."""
    from mtlib.executors import run_grid

    done, total = pending_count(configs)
    if progress:
        print(f"{total} trial(s): {done} already in the run store, {total - done} to train")
    return run_grid(list(configs), executor=executor, progress=progress)


def run_variants(labelled: Sequence[tuple[str, RunConfig]], n: int, executor: str = "local",
                 progress: bool = True) -> tuple[pd.DataFrame, list]:
    """Train ``n`` trials of each labelled config; the mean/std table (one row per label, in
    order) and the runs (``n`` consecutive trials per label)."""
    configs = [c for _, cfg in labelled for c in trials(cfg, n)]
    results = run(configs, executor, progress)
    return variant_table([label for label, _ in labelled], results, n), results
