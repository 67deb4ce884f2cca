"""Notebook 02, Section V: the coordinate-wise hyper-parameter search.

Each stage trains one field's grid on top of the previous stage's kept configuration and
keeps the value with the best mean validation ROC-AUC (ties: the first in the grid). The fine
learning-rate grid is built from the coarse stage's scores (:func:`lr_fine_grid`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.paper.arms import Arm
from mtlib.paper.numbers import BY_KEY, shown
from mtlib.report import plots
from mtlib.report.artifacts import read_artifact, write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile, run_config
from mtlib.report.sections.grids import best_index, measurement
from mtlib.report.study import (
    Chain,
    Kept,
    Option,
    Step,
    StepResult,
    best_on_validation,
    run_chain,
)
from mtlib.report.tables import mean_std_column, value_key
from mtlib.training.executors import Executor
from mtlib.training.rundir import RunResult

SLUG = "02_hyperparameter_search"
CHOSEN_FIELDS = ("input_norm", "filters", "lr", "momentum")

# The starting point of a "fixed" search: plain SGD settings on the 256/256 pair. The report
# starts from random values (profile search.start = random, :func:`start_values`); the pair
# is not searched and stays 256/256 either way (its best pair in Table I).
SEARCH_START: dict[str, Any] = {
    "input_norm": "none", "filters": 32, "length": 256, "stride": 256, "lr": 0.01,
    "momentum": 0.9,
}


@dataclass(frozen=True)
class Stage:
    """One stage of the search: its id, what it varies (for tables and plots), the RunConfig
    field, and the profile field holding its grid ("" for the generated fine grid)."""

    name: str
    label: str
    field: str
    grid_field: str


STAGES: tuple[Stage, ...] = (
    Stage("input_norm", "input normalisation", "input_norm", "search_input_norms"),
    Stage("filters", "filters", "filters", "search_filters"),
    Stage("lr", "learning rate (coarse)", "lr", "search_lrs"),
    Stage("lr_fine", "learning rate (fine)", "lr", ""),
    Stage("momentum", "momentum", "momentum", "search_momenta"),
)

# What the report kept at each stage: (value, its published key); the coarse learning-rate
# stage has no published number.
REPORT_KEPT: dict[str, tuple[Any, str]] = {
    "input_norm": ("minmax", "search.input_norm.minmax"),
    "filters": (32, "search.filters.32"),
    "lr_fine": (0.0075, "search.lr.0.0075"),
    "momentum": (0.95, "search.momentum.0.95"),
}


@dataclass
class StageResult:
    """One stage, scored on validation. ``table``: value, val/test ROC-AUC and PR-AUC
    mean/std, trials, run_ids, best_on_validation, kept (they differ where the profile keeps
    a value whatever scores best: the report's 32 filters)."""

    stage: Stage
    values: list[Any]
    table: pd.DataFrame
    best: Any  # the value kept
    config: RunConfig  # the configuration with ``best`` applied (seed 0)
    results: list[RunResult] = field(repr=False, default_factory=list)
    step: StepResult | None = field(repr=False, default=None)  # the chain's step

    @property
    def slug(self) -> str:
        return f"{SLUG}_{self.stage.name}"

    @property
    def best_on_validation(self) -> Any:
        return self.values[best_index(self.table)]

    def score(self, value: Any, metric: str = "val_roc_auc") -> float:
        """Mean ``metric`` over the trials of ``value`` (NaN if the stage did not try it)."""
        row = self.table[self.table["value"] == value]
        return float(row[f"{metric}_mean"].iloc[0]) if len(row) else float("nan")

    def display(self) -> pd.DataFrame:
        t = self.table
        return pd.DataFrame({
            self.stage.label: [value_key(v) for v in t["value"]],
            "validation ROC-AUC": mean_std_column(t, "val_roc_auc"),
            "test ROC-AUC": mean_std_column(t, "test_roc_auc"),
            "trials": t["trials"],
            "best on validation": ["yes" if b else "" for b in t["best_on_validation"]],
            "kept": ["yes" if k else "" for k in t["kept"]],
        })


@dataclass
class Search:
    """All stages, the chosen configuration, and the comparison with the report's choices
    (``comparison``: stage, kept, val_roc_auc, report_kept, report_val_roc_auc, same_choice)."""

    stages: list[StageResult]
    comparison: pd.DataFrame
    start: dict[str, Any]  # the values the search started from (searched fields only)

    @property
    def final(self) -> RunConfig:
        return self.stages[-1].config

    @property
    def chosen(self) -> dict[str, Any]:
        return {f: getattr(self.final, f) for f in CHOSEN_FIELDS}

    @property
    def final_score(self) -> float:
        """Validation ROC-AUC of the kept configuration (the last stage's best value)."""
        last = self.stages[-1]
        return last.score(last.best)

    def stage(self, name: str) -> StageResult:
        return next(s for s in self.stages if s.stage.name == name)

    @property
    def same_choices(self) -> int:
        """Stages that keep the report's value."""
        return int((self.comparison["same_choice"] == True).sum())  # noqa: E712 - NaN rows

    @property
    def compared(self) -> int:
        """Stages for which the report says what it kept."""
        return int(self.comparison["same_choice"].notna().sum())


def start_values(profile: Profile) -> dict[str, Any]:
    """The values the search starts from: SEARCH_START, or with ``search.start: random`` (the
    report: random values, so as not to assume prior knowledge) one value drawn from each
    stage's grid with ``search.seed``; then the pinned ``search.start_lr`` and
    ``search.start_momentum``, where the profile sets them."""
    start = dict(SEARCH_START)
    if profile.search_start == "random":
        rng = np.random.default_rng(profile.search_seed)
        for stage in STAGES:
            if stage.grid_field:
                grid = getattr(profile, stage.grid_field)
                start[stage.field] = grid[int(rng.integers(len(grid)))]
    for name, value in (("lr", profile.search_start_lr),
                        ("momentum", profile.search_start_momentum)):
        if value is not None:
            start[name] = value
    return start


def search_base(profile: Profile) -> RunConfig:
    """The configuration the search starts from (:func:`start_values`)."""
    return run_config(profile, "search", **start_values(profile))


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


def _values(stage: Stage, profile: Profile, kept: Kept) -> list[Any]:
    """A stage's grid: the profile's, or (the fine learning rate) :func:`lr_fine_grid` around
    the coarse stage's best."""
    if stage.grid_field:
        return list(getattr(profile, stage.grid_field))
    coarse = kept.step("lr")
    return lr_fine_grid([o.value for o in coarse.options], coarse.table["val_roc_auc_mean"],
                        profile.search_lr_fine_points)


def _keep(stage: Stage, value: Any):
    """Keep ``value`` whatever scores best (it must be in the grid)."""
    def keep(table: pd.DataFrame, options: Sequence[Option]) -> int:
        values = [o.value for o in options]
        if value not in values:
            raise MtlibError(f"search stage {stage.name}: the value to keep, {value!r}, is not "
                             f"in its grid {values}")
        return values.index(value)
    return keep


def chain(profile: Profile) -> Chain:
    """Section V as a chain: every stage of :data:`STAGES`, each varying one field of the
    previous stage's kept configuration (``search.<field>.<value>``) and keeping the value
    with the best mean validation ROC-AUC (the profile's ``search.keep_filters`` forces the
    filters)."""
    def step(stage: Stage) -> Step:
        def options(kept: Kept) -> list[Option]:
            return [Option(Arm("search", stage.field, value_key(v)),
                           kept.config.replace(**{stage.field: v}), value_key(v), v,
                           {"value": v}) for v in _values(stage, profile, kept)]
        keep = profile.search_keep_filters if stage.name == "filters" else None
        return Step(stage.name, options, best_on_validation if keep is None else _keep(stage, keep))

    return Chain(tuple(step(s) for s in STAGES), label=lambda names, n: f"search stage {names[0]}")


def run(profile: Profile, executor: str | Executor = "local") -> Search:
    """Section V: every stage of :data:`STAGES` in order, each starting from the previous
    stage's kept configuration."""
    result = run_chain(chain(profile), search_base(profile), profile.search_trials, executor)
    stages = []
    for stage, step in zip(STAGES, result.steps, strict=True):
        table = step.table.drop(columns=["step", "variant"])
        table["best_on_validation"] = [i == best_index(table) for i in range(len(table))]
        table["kept"] = [i == step.kept for i in range(len(table))]
        stages.append(StageResult(stage, [o.value for o in step.options], table,
                                  step.kept_option.value, step.kept_option.config,
                                  [r for rs in step.runs for r in rs], step))
    start = {s.field: getattr(search_base(profile), s.field) for s in STAGES if s.grid_field}
    return Search(stages, _comparison(stages), start)


def _comparison(stages: Sequence[StageResult]) -> pd.DataFrame:
    rows = []
    for s in stages:
        kept, key = REPORT_KEPT.get(s.stage.name, (None, None))
        rows.append({
            "stage": s.stage.name, "kept": value_key(s.best),
            "val_roc_auc": s.score(s.best),
            "report_kept": None if kept is None else value_key(kept),
            "report_val_roc_auc": BY_KEY[key].value if key else np.nan,
            "same_choice": None if kept is None else bool(s.best == kept),
        })
    return pd.DataFrame(rows)


def comparison_display(search: Search) -> pd.DataFrame:
    c = search.comparison
    return pd.DataFrame({
        "stage": [s.stage.label for s in search.stages],
        "kept (ours)": c["kept"],
        "validation ROC-AUC (ours)": [f"{v:.4f}" for v in c["val_roc_auc"]],
        "kept (report)": c["report_kept"].fillna("—"),
        "validation ROC-AUC (report)": [BY_KEY[REPORT_KEPT[s.stage.name][1]].shown()
                                        if s.stage.name in REPORT_KEPT else "—"
                                        for s in search.stages],
        "same choice": ["" if v is None else ("yes" if v else "no") for v in c["same_choice"]],
    })


def findings(search: Search) -> dict[str, dict]:
    """Validation ROC-AUC of every searched value under the published keys (its arm's,
    ``search.<field>.<value>``); the fine learning-rate grid extends the coarse one."""
    out: dict[str, dict] = {}
    for s in search.stages:
        for arm, i in s.step.names().items():
            row = s.table.iloc[i]
            out[arm.key] = measurement(row["val_roc_auc_mean"], row["val_roc_auc_std"],
                                       row["trials"], f"stage {s.stage.name}")
    return out


def save(profile: Profile, search: Search) -> Outputs:
    """Per stage a table and a figure; the comparison table; the artifact with the chosen
    configuration that later notebooks read."""
    out = Outputs()
    for s in search.stages:
        out.table(s.slug, s.table, s.display())
        out.figure(s.slug, plots.search_stage(s.table, s.stage.label, s.best))
    out.table(SLUG, search.comparison, comparison_display(search))
    write_artifact(SLUG, profile.name, {
        "chosen": search.chosen,
        "config": search.final.to_dict(),
        "stages": [{"stage": s.stage.name, "field": s.stage.field, "values": s.values,
                    "best": s.best, "val_roc_auc": s.table["val_roc_auc_mean"].tolist()}
                   for s in search.stages],
        "findings": findings(search),
        "arms": arms(search),
    })
    return out


def arms(search: Search) -> dict[str, list[str]]:
    """Run ids of every searched value, ``search.<field>.<value>`` (see
    :mod:`mtlib.report.verdicts`); the fine learning-rate grid extends the coarse one."""
    return {arm.key: ids for s in search.stages for arm, ids in s.step.arms().items()}


def recipe(profile: Profile, chosen: dict[str, Any] | None = None) -> dict[str, Any]:
    """input_norm, filters, lr and momentum that Tables I-IX train with: the search's
    ``chosen`` values (default: notebook 02's artifact) when the profile follows its own
    search (``recipe.from_search``), else the profile's recipe, the report's found values
    in ``full``."""
    if profile.recipe_from_search:
        return dict(chosen if chosen is not None else read_artifact(SLUG, profile.name)["chosen"])
    return {f: getattr(profile, f"recipe_{f}") for f in ("input_norm", "filters", "lr",
                                                         "momentum")}


def chosen_config(profile: Profile) -> dict[str, Any]:
    """The recipe Tables I-IX train with (:func:`recipe`)."""
    return recipe(profile)


def closing(search: Search) -> str:
    """The notebook's closing paragraph (Markdown), read off ``search``."""
    norm, coarse = search.stage("input_norm"), search.stage("lr")
    fine, filters = search.stage("lr_fine"), search.stage("filters")
    start = ", ".join(f"{k} = {value_key(v)}" for k, v in search.start.items())
    norms = ", ".join(f"{value_key(v)} {norm.score(v):.3f}" for v in norm.values)
    reported = shown("search.input_norm.none", "search.input_norm.standardise",
                     "search.input_norm.minmax")
    scores = ", ".join(f"{value_key(v)}: {filters.score(v):.3f}" for v in filters.values)
    grid = ", ".join(value_key(v) for v in fine.values)
    chosen = ", ".join(f"{k} = **{value_key(v)}**" for k, v in search.chosen.items())
    return (
        f"Starting values: {start}. Our search keeps the report's value in "
        f"{search.same_choices} of {search.compared} stages. Validation ROC-AUC by input "
        f"normalisation: {norms} (report: none, standardise, minmax {reported}). Filters: "
        f"{scores}; {value_key(filters.best)} is kept (best on validation: "
        f"{value_key(filters.best_on_validation)}). The fine learning-rate grid, {grid}, is "
        f"built around the coarse best {value_key(coarse.best)}. The chosen configuration, "
        f"{chosen}, scores {search.final_score:.3f} validation ROC-AUC (report: "
        f"{shown('search.momentum.0.95')}); later notebooks read it from the artifact."
    )
