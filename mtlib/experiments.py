"""The experiments behind the notebooks: config grids from a profile, searches, aggregation.

Every grid goes through :func:`mtlib.executors.run_grid`, so a config that another notebook
already trained is read from the run store, never retrained. Results shared between
notebooks (the chosen configuration, the best Table I pair, what we measured for each
published number) are small JSON artifacts in ``paths.artifacts_dir()``, named
``<notebook slug>-<profile>.json``.

Seeds: trial ``k`` of a configuration uses ``seed = k``; nothing else is random.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

import mtlib
from mtlib import paths
from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.io import atomic_write_json
from mtlib.profiles import Profile, differences, load_profile

# Section V starts from Dieleman & Schrauwen's network (32 filters, L = S = 256) with plain
# SGD settings; each stage then replaces one of these values by the best on validation.
SEARCH_START: dict[str, Any] = {
    "input_norm": "none", "filters": 32, "length": 256, "stride": 256, "lr": 0.01,
    "momentum": 0.9,
}
# The (length, stride) pairs of Dieleman & Schrauwen's spectrogram column in Table I.
LOGMEL_PAIRS: tuple[tuple[int, int], ...] = ((1024, 1024), (256, 256))
# Section VIII-B starts from Lee et al.'s recipe: batch norm, SGD with Nesterov momentum 0.9,
# lr 0.01 divided by 5 on a validation plateau, dropout 0.5 before the output (model default).
# No training-set ROC-AUC per epoch (train_eval_clips=0): the report shows no SampleCNN
# training curve, and scoring 200 clips x all segments would cost as much as validation.
SAMPLECNN_START: dict[str, Any] = {
    "model": "samplecnn", "norm": "batch", "nesterov": True, "momentum": 0.9, "lr": 0.01,
    "plateau": True, "input_norm": "none", "train_eval_clips": 0,
}

METRICS = ("val_roc_auc", "test_roc_auc", "test_pr_auc")


# --- artifacts --------------------------------------------------------------------------


def artifact_path(slug: str, profile: str) -> Any:
    return paths.artifacts_dir() / f"{slug}-{profile}.json"


def write_artifact(slug: str, profile: Profile, payload: dict[str, Any]) -> Any:
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


# --- reading results ----------------------------------------------------------------------


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


# --- Section V: coordinate-wise search -----------------------------------------------------


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
    results = run(configs, executor=executor, progress=progress)
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


def write_search(profile: Profile, stages: Sequence[StageResult]) -> Any:
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


# --- the shallow CNN with the chosen settings: Table I, Figures 3-4, Table II --------------


def shallow_config(profile: Profile, chosen: dict[str, Any], **changes: Any) -> RunConfig:
    """The Dieleman CNN with the chosen settings and the profile's training budget."""
    cfg = RunConfig(
        dataset=profile.data_name, sample_rate=profile.shallow_sample_rate,
        split=profile.data_split, require_tag=profile.data_require_tag, model="dieleman",
        batch_clips=profile.shallow_batch_clips, epochs=profile.shallow_epochs,
        max_train_clips=profile.shallow_max_train_clips, **chosen,
    )
    return cfg.replace(**changes)


def trials(config: RunConfig, n: int) -> list[RunConfig]:
    return [config.replace(seed=k) for k in range(n)]


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


def best_row(table: pd.DataFrame, metric: str = "val_roc_auc_mean") -> pd.Series:
    """The row with the highest ``metric`` (ties: first)."""
    return table.iloc[int(np.nanargmax(table[metric].to_numpy()))]


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


def write_table1(profile: Profile, table: pd.DataFrame) -> Any:
    """Artifact ``03_length_stride_table``: the best raw pair (by validation) and run ids."""
    raw = table[table["frontend"] == "raw"]
    best = best_row(raw)
    return write_artifact("03_length_stride_table", profile, {
        "best_pair": [int(best["length"]), int(best["stride"])],
        "best_run_ids": list(best["run_ids"]),
        "rows": json.loads(table.to_json(orient="records")),
        "findings": table1_findings(table),
    })


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


def best_table1_runs(profile: Profile) -> tuple[tuple[int, int], list]:
    """The best Table I pair (by validation) and its trials, read from the run store."""
    art = read_artifact("03_length_stride_table", profile.name)
    runs = load_runs(art["best_run_ids"], "03_length_stride_table", profile.name)
    return tuple(art["best_pair"]), runs


# --- Figure 1: tag distribution ----------------------------------------------------------


def tag_counts(profile: Profile) -> tuple[pd.DataFrame, str]:
    """Positives per tag in train, valid and test of the profile's split, most frequent
    training tag first; and a sentence saying where the counts come from.

    On real MTAT with the standard split the valid and test counts come from the shipped label
    matrices of the published lists (exact), train from the prepared cache's rows of the
    published train list. Otherwise all three come from the prepared cache.
    """
    from mtlib.data import metadata
    from mtlib.data.cache import open_cache

    cache = open_cache(profile.data_name, profile.shallow_sample_rate)
    counts = pd.DataFrame({"tag": cache.tags})
    sizes = {}
    for part in ("train", "valid", "test"):
        rows = cache.split_rows(profile.data_split, part, profile.data_require_tag)
        counts[part] = cache.labels[rows].sum(0).astype(int)
        sizes[part] = len(rows)
    source = (f"Counts over the {profile.data_split} split of `{profile.data_name}` "
              f"({sizes['train']} / {sizes['valid']} / {sizes['test']} clips).")
    if profile.data_source == "mtat" and profile.data_split == "standard":
        for part in ("valid", "test"):
            _, y = metadata.standard_label_matrix(part)
            exact = dict(zip(metadata.standard_tags(), y.sum(0).astype(int), strict=True))
            counts[part] = [exact.get(t, 0) for t in counts["tag"]]
            sizes[part] = len(y)
        source = ("Counts over the standard split: train from the prepared cache's rows of "
                  f"the published train list ({sizes['train']} clips), valid and test from "
                  f"the shipped label matrices ({sizes['valid']} / {sizes['test']} clips).")
    counts = counts.sort_values("train", ascending=False, kind="stable").reset_index(drop=True)
    return counts, source


# --- Figure 3: training curves -----------------------------------------------------------


def curves(results: Sequence[Any]) -> pd.DataFrame:
    """Per-epoch train and validation ROC-AUC: mean and std over the runs' histories."""
    long = pd.concat([r.history.assign(seed=r.config.seed) for r in results])
    agg = long.groupby("epoch")[["train_roc_auc", "val_roc_auc"]].agg(["mean", "std"])
    agg.columns = [f"{m}_{s}" for m, s in agg.columns]
    return agg.reset_index()


def peak_epoch(curve: pd.DataFrame) -> int:
    """The epoch (1-based) of the highest mean validation ROC-AUC (ties: the earliest)."""
    return int(curve["epoch"].iloc[int(np.nanargmax(curve["val_roc_auc_mean"].to_numpy()))])


def curves_findings(curve: pd.DataFrame) -> dict[str, dict]:
    return {
        "figure3.best_epoch": {"value": peak_epoch(curve),
                               "note": "peak of the mean validation curve over trials"},
        "figure3.epochs": {"value": int(curve["epoch"].max()), "note": "epochs trained"},
    }


# --- Figure 4: per-tag analysis ----------------------------------------------------------


def per_tag_table(results: Sequence[Any]) -> pd.DataFrame:
    """Per-tag test ROC-AUC and PR-AUC (mean over runs) with the training positives count,
    sorted by that count, most frequent first."""
    frames = []
    for r in results:
        df = pd.DataFrame.from_dict(r.metrics["per_tag"], orient="index")
        df.index.name = "tag"
        frames.append(df.reset_index())
    long = pd.concat(frames)
    table = long.groupby("tag", sort=False).agg(
        roc_auc=("roc_auc", "mean"), roc_auc_std=("roc_auc", "std"), pr_auc=("pr_auc", "mean"),
        n_train_pos=("n_train_pos", "first"))
    return table.sort_values("n_train_pos", ascending=False, kind="stable").reset_index()


def clip_table(result: Any, tags_per_clip: int = 3) -> pd.DataFrame:
    """One row per test clip of ``result``: its per-clip ROC-AUC (over tags), its true tags
    and its top predicted tags; clips without both a positive and a negative tag are dropped."""
    from mtlib.metrics import binary_auc

    clip_ids, y_true, y_score, tags = result.predictions()
    auc = binary_auc(y_true, y_score)
    tags = np.asarray(tags)
    rows = []
    for i in np.flatnonzero(np.isfinite(auc)):
        top = np.argsort(-y_score[i])[:tags_per_clip]
        rows.append({"clip_id": int(clip_ids[i]), "clip_auc": float(auc[i]),
                     "true tags": ", ".join(tags[y_true[i] > 0]),
                     "top predicted": ", ".join(tags[top])})
    return pd.DataFrame(rows).sort_values("clip_auc", ascending=False, kind="stable")


def per_tag_findings(per_tag: pd.DataFrame) -> dict[str, dict]:
    out = {"figure4.most_frequent_tag": {"value": str(per_tag["tag"].iloc[0]),
                                         "note": "most training positives"}}
    guitar = per_tag[per_tag["tag"] == "guitar"]
    if len(guitar) and pd.notna(guitar["roc_auc"].iloc[0]):
        g = guitar.iloc[0]
        out["figure4.guitar_auc"] = measurement(g["roc_auc"], g["roc_auc_std"],
                                                note="mean over the best pair's trials")
    return out


def with_paths(clips: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Add each clip's mp3 path from the prepared cache's index."""
    from mtlib.data.cache import open_cache

    index = open_cache(profile.data_name, profile.shallow_sample_rate).index
    by_id = dict(zip(index["clip_id"], index["mp3_path"], strict=True))
    return clips.assign(mp3_path=[by_id.get(c, "") for c in clips["clip_id"]])


# --- Table II ---------------------------------------------------------------------------


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


def _stage_table(labels: list[str], results: list, n: int) -> pd.DataFrame:
    frame = runs_frame(results)
    frame["variant"] = [lab for lab in labels for _ in range(n)]
    return aggregate(frame, ["variant"])


def run_table2(profile: Profile, base: RunConfig, executor: str = "local",
               progress: bool = True) -> Table2:
    """Normalisation variants, then a dropout grid on the best, then longer training.

    Each step keeps the variant with the best mean validation ROC-AUC.
    """
    n = profile.shallow_trials
    variants = norm_variants(profile)
    configs = [c for _, ch in variants for c in trials(base.replace(**ch), n)]
    norms = _stage_table([lab for lab, _ in variants], run(configs, executor, progress), n)
    b = int(np.nanargmax(norms["val_roc_auc_mean"].to_numpy()))
    best_norm, norm_changes = variants[b]
    normed = base.replace(**norm_changes)

    ps = list(profile.table2_dropouts)
    configs = [c for p in ps for c in trials(normed.replace(dropout=p), n)]
    drops = _stage_table([f"{best_norm} + dropout {p:g}" for p in ps],
                         run(configs, executor, progress), n)
    best_p = ps[int(np.nanargmax(drops["val_roc_auc_mean"].to_numpy()))]
    final = normed.replace(dropout=best_p, epochs=profile.shallow_long_epochs)

    results = run(trials(final, n), executor, progress)
    long = _stage_table([f"{best_norm} + dropout {best_p:g} + {final.epochs} epochs"],
                        results, n)
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
    return groups.iloc[int(np.nanargmax(groups["val_roc_auc_mean"].to_numpy()))]["variant"]


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
    out = {}
    for step, frame in (("normalisation", t2.norms), ("dropout", t2.dropouts),
                        ("epochs", t2.long)):
        for r in frame.itertuples():
            key = _table2_key(step, r.variant, t2)
            if key:
                out[key] = measurement(r.test_roc_auc_mean, r.test_roc_auc_std, r.trials,
                                       r.variant)
    return out


def write_table2(profile: Profile, t2: Table2) -> Any:
    """Artifact ``06_normalisation_dropout``: the kept settings and the final runs."""
    best_group = int(best_group_label(t2).rsplit("=", 1)[1])
    return write_artifact("06_normalisation_dropout", profile, {
        "best_norm": t2.best_norm,
        "best_group_count": best_group,
        "best_dropout": t2.best_dropout,
        "final_config": t2.final_config.to_dict(),
        "final_run_ids": [r.run_id for r in t2.final_results],
        "best_run_id": _best_run(t2.final_results).run_id,
        "findings": table2_findings(t2),
    })


def _best_run(results: Sequence[Any]) -> Any:
    return max(results, key=lambda r: (r.metrics["val_roc_auc"], -r.config.seed))


# --- Section VIII-B: SampleCNN -----------------------------------------------------------


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
    configs = [c for _, cfg in chain for c in trials(cfg, n)]
    steps = _stage_table([lab for lab, _ in chain], run(configs, executor, progress), n)

    ms = list(profile.samplecnn_momenta)
    configs = [c for m in ms for c in trials(unscheduled.replace(momentum=m), n)]
    momenta = _stage_table([f"momentum {m:g}" for m in ms], run(configs, executor, progress), n)
    best_m = ms[int(np.nanargmax(momenta["val_roc_auc_mean"].to_numpy()))]
    final = unscheduled.replace(momentum=best_m, epochs=profile.samplecnn_long_epochs)
    results = run(trials(final, n), executor, progress)
    long = _stage_table([f"+ momentum {best_m:g}, {final.epochs} epochs"], results, n)
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


# --- the best shallow model (used by `mtlib tag`) ----------------------------------------


def best_shallow_run_id(profile: str) -> str:
    """The best shallow run of a profile: Table II's final model if notebook 06 ran, else the
    best Table I configuration's best trial."""
    t2 = artifact_path("06_normalisation_dropout", profile)
    if t2.is_file():
        return read_artifact("06_normalisation_dropout", profile)["best_run_id"]
    art = read_artifact("03_length_stride_table", profile)
    from mtlib.runs import RunStore

    store = RunStore()
    results = [r for r in (store.load(i) for i in art["best_run_ids"]) if r is not None]
    if not results:
        raise MtlibError(f"none of the runs {art['best_run_ids']} is in the run store")
    return _best_run(results).run_id


# --- Section 08: everything published, beside ours -----------------------------------------

SLUGS_WITH_FINDINGS = ("02_hyperparameter_search", "03_length_stride_table",
                       "04_training_curves", "05_per_tag_analysis", "06_normalisation_dropout",
                       "07_samplecnn")


def collect_findings(profile: str) -> dict[str, dict]:
    """Merge the ``findings`` of every notebook artifact of ``profile`` that exists."""
    out: dict[str, dict] = {}
    for slug in SLUGS_WITH_FINDINGS:
        if artifact_path(slug, profile).is_file():
            out.update(read_artifact(slug, profile).get("findings", {}))
    return out


def format_finding(entry: Any, finding: dict | None) -> str:
    """Our value for a published entry, in the entry's unit (``—`` when not measured)."""
    from mtlib.published import format_value

    if not finding:
        return "—"
    if "mean" in finding:
        percent = entry.unit == "%"
        digits = entry.digits if not percent else 2
        return mean_std(finding["mean"], finding["std"] if finding["std"] is not None
                        else float("nan"), max(digits, 3) if not percent else digits, percent)
    return format_value(finding["value"], entry.unit, max(entry.digits, 1)
                        if entry.unit in ("% gain",) else entry.digits)


def summary_table(profile: str) -> pd.DataFrame:
    """Every published number beside ours for ``profile``, with its source."""
    from mtlib.published import PUBLISHED

    findings = collect_findings(profile)
    return pd.DataFrame([{
        "section": p.section, "quantity": p.quantity, "set": p.split,
        "published": p.shown(), f"ours ({profile})": format_finding(p, findings.get(p.key)),
        "note": (findings.get(p.key) or {}).get("note", "not measured by this profile"),
        "source": p.source,
    } for p in PUBLISHED])


def _value(findings: dict, key: str) -> float | None:
    f = findings.get(key)
    if not f:
        return None
    return f.get("mean", f.get("value"))


# (claim, key a, key b): the claim holds when value(a) > value(b).
TRENDS: tuple[tuple[str, str, str], ...] = (
    ("min-max input scaling beats no normalisation", "search.input_norm.minmax",
     "search.input_norm.none"),
    ("min-max input scaling beats standardisation", "search.input_norm.minmax",
     "search.input_norm.standardise"),
    ("length = stride = 256 beats 1024", "table1.raw.256-256", "table1.raw.1024-1024"),
    ("layer norm beats batch norm", "table2.layer", "table2.batch"),
    ("group norm beats layer norm", "table2.group", "table2.layer"),
    ("dropout improves the group-norm network", "table2.dropout", "table2.group"),
    ("longer training improves it further", "table2.long", "table2.dropout"),
    ("SampleCNN beats the best shallow CNN (test)", "samplecnn.long.test", "table2.long"),
)


def _as_auc(entry: Any) -> float:
    return entry.value / 100.0 if entry.unit == "%" else entry.value


def trend_table(profile: str) -> pd.DataFrame:
    """For each comparison the report makes, whether it holds in the report and in ours."""
    from mtlib.published import BY_KEY

    findings = collect_findings(profile)
    rows = []
    for claim, a, b in TRENDS:
        pa, pb = _as_auc(BY_KEY[a]), _as_auc(BY_KEY[b])
        oa, ob = _value(findings, a), _value(findings, b)
        ours = "not measured" if oa is None or ob is None else ("yes" if oa > ob else "no")
        rows.append({"claim": claim, "report": "yes" if pa > pb else "no", "ours": ours,
                     "ours: difference": "" if ours == "not measured" else f"{oa - ob:+.4f}"})
    return pd.DataFrame(rows)


# --- how much training a profile asks for (for time estimates) ---------------------------


def workload(profile: Profile) -> pd.DataFrame:
    """Training runs and epochs each notebook asks for: one row per (notebook, model, first
    layer) with ``runs``, ``epochs`` per run, ``train_clips`` (None: whole train split) and
    ``total_epochs``. Search and later steps may reuse runs, so counts are upper bounds.

    Multiply ``total_epochs`` by a measured time per epoch of that model and layer (see the
    training benchmark) to estimate a profile's training time.
    """
    p = profile
    rows = []

    def add(notebook, model, layer, runs, epochs, clips):
        rows.append({"notebook": notebook, "model": model, "first layer": layer,
                     "runs": runs, "epochs": epochs, "train_clips": clips,
                     "total_epochs": runs * epochs})

    start = f"raw {SEARCH_START['length']}/{SEARCH_START['stride']}"
    grid = (len(p.search_input_norms) + len(p.search_filters) + len(p.search_lrs)
            + p.search_lr_fine_points + len(p.search_momenta))
    add("02", "dieleman", start, grid * p.search_trials, p.search_epochs,
        p.search_max_train_clips)
    for length, stride in p.table1_pairs:
        add("03", "dieleman", f"raw {length}/{stride}", p.shallow_trials, p.shallow_epochs,
            p.shallow_max_train_clips)
    for length, stride in logmel_pairs(p):
        add("03", "dieleman", f"logmel {length}/{stride}", p.shallow_trials, p.shallow_epochs,
            p.shallow_max_train_clips)
    variants = 2 + len(p.table2_group_counts) + len(p.table2_dropouts)
    add("06", "dieleman", "best Table I pair", variants * p.shallow_trials, p.shallow_epochs,
        p.shallow_max_train_clips)
    add("06", "dieleman", "best Table I pair", p.shallow_trials, p.shallow_long_epochs,
        p.shallow_max_train_clips)
    add("07", "samplecnn", f"{p.samplecnn_sample_rate} Hz",
        (3 + len(p.samplecnn_momenta)) * p.samplecnn_trials, p.samplecnn_epochs,
        p.samplecnn_max_train_clips)
    add("07", "samplecnn", f"{p.samplecnn_sample_rate} Hz", p.samplecnn_trials,
        p.samplecnn_long_epochs, p.samplecnn_max_train_clips)
    return pd.DataFrame(rows)
