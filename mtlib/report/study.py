"""A study: a chain of steps, each a set of variants and a rule for what to keep.

The search stages (notebook 02), Table II (06), SampleCNN's steps (07) and the future-work arms
(09) are specs of one :class:`Chain`, run by :func:`run_chain`:

- a :class:`Step` builds its :class:`Option` s (variant configurations, each named by an
  :class:`~mtlib.paper.arms.Arm`) from what the chain has kept so far (:class:`Kept`), trains
  ``trials`` seeds of each and applies its ``keep`` rule, on validation: the next step starts
  from the kept option's configuration;
- a step marked ``joins_previous`` does not depend on the previous step's outcome: its options
  are built from the same :class:`Kept` as the previous step's and both train as one grid
  (a worker pool then runs their trials side by side); a step marked ``independent`` needs
  nothing the chain keeps and trains in the chain's first grid;
- every option's runs are an arm, and a step can give the option it kept (``kept_arm``) or the
  best on validation among some of its options (``picks``) a name of its own.

Trial ``k`` of an option uses ``seed = k``. Every grid goes through
:func:`mtlib.training.executors.run_grid`, so a configuration another step or notebook
already trained is read from the run store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.report.sections.grids import aggregate, best_index, runs_frame, trials
from mtlib.training.executors import Executor, run_grid
from mtlib.training.rundir import RunResult
from mtlib.training.variants import Variant


@dataclass(frozen=True, eq=False)
class Option:
    """One variant of a step: the arm naming its runs, its seed-0 configuration, its label in
    tables, the value the step varies (a search value, a :class:`Variant`), and the columns
    it adds to the step's table."""

    arm: Arm
    config: RunConfig
    label: str
    value: Any = None
    columns: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kept:
    """What a step's options are built from: the chain's base configuration, the configuration
    kept so far (seed 0; the base before the first keep), the option that kept it (None
    before the first keep), and the results of the steps before."""

    base: RunConfig | None
    config: RunConfig | None
    option: Option | None = None
    steps: tuple[StepResult, ...] = ()

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.step.name == name)


def best_on_validation(table: pd.DataFrame, options: Sequence[Option]) -> int:
    """The option with the best mean validation ROC-AUC (ties: the first; NaN never wins)."""
    return best_index(table)


@dataclass(frozen=True)
class Step:
    """``options(kept)`` builds the step's variants; ``keep(table, options)`` returns the index
    of the option to keep (None: keep nothing, the next step starts from the same config).
    ``kept_arm`` names the kept option's runs too; ``picks`` name the best option on
    validation among those matching a predicate (Table II's best group count).
    ``joins_previous``: trains in the previous step's grid, its options built from what the
    chain had kept before that step; ``independent``: trains in the chain's first grid (its
    options see only the base)."""

    name: str
    options: Callable[[Kept], Sequence[Option]]
    keep: Callable[[pd.DataFrame, Sequence[Option]], int] | None = best_on_validation
    kept_arm: Arm | None = None
    picks: tuple[tuple[Arm, Callable[[Option], bool]], ...] = ()
    joins_previous: bool = False
    independent: bool = False


@dataclass(frozen=True)
class Chain:
    """A study: its steps in order. ``label(names, n)`` names a grid of the steps ``names``
    and ``n`` options (the default: ``recreation and normalisation (3 variant(s))``);
    ``order``: a sort key of the options, the order in which a grid trains them (default:
    as declared)."""

    steps: tuple[Step, ...]
    label: Callable[[list[str], int], str] = (
        lambda names, n: f"{_and(names)} ({n} variant(s))")
    order: Callable[[Option], Any] | None = None


@dataclass
class StepResult:
    """One step, trained: its options, the table (one row per option, in order: ``step``,
    ``variant`` (the label), the option's columns, then the
    :func:`~mtlib.report.sections.grids.aggregate` columns), the runs of each option
    (``runs[i]``: its trials in seed order), and the index of the option kept (None)."""

    step: Step
    options: list[Option]
    table: pd.DataFrame
    runs: list[list[RunResult]] = field(repr=False)
    kept: int | None = None

    @property
    def kept_option(self) -> Option | None:
        return None if self.kept is None else self.options[self.kept]

    @property
    def row(self) -> pd.DataFrame:
        """The step's row in a summary: the kept option's (the first one's if it kept none)."""
        return self.table.iloc[[self.kept or 0]].reset_index(drop=True)

    def names(self) -> dict[Arm, int]:
        """Every arm the step names, with the index of its option: each option's own arm,
        then ``kept_arm`` and the ``picks``."""
        out = {o.arm: i for i, o in enumerate(self.options)}
        if self.step.kept_arm is not None and self.kept is not None:
            out[self.step.kept_arm] = self.kept
        for arm, among in self.step.picks:
            idx = [i for i, o in enumerate(self.options) if among(o)]
            if idx:
                out[arm] = idx[best_index(self.table.iloc[idx])]
        return out

    def arms(self) -> dict[Arm, list[str]]:
        return {arm: [r.run_id for r in self.runs[i]] for arm, i in self.names().items()}


@dataclass
class ChainResult:
    """Every step trained, in order, and the configuration the chain kept (seed 0)."""

    steps: list[StepResult]
    config: RunConfig | None

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.step.name == name)

    def arms(self) -> dict[Arm, list[str]]:
        """Run ids per arm, every step's in order (a later step's name wins)."""
        return {arm: ids for s in self.steps for arm, ids in s.arms().items()}

    def arm_keys(self) -> dict[str, list[str]]:
        """:meth:`arms` under their keys, as the artifacts store them."""
        return {arm.key: ids for arm, ids in self.arms().items()}


def run_chain(chain: Chain, base: RunConfig | None, n: int,
              executor: str | Executor = "local") -> ChainResult:
    """Run ``chain`` from ``base``: ``n`` trials of every option, step by step (steps that
    join the previous one in one grid), each keep applied in order."""
    kept = Kept(base, base)
    done: list[StepResult] = []
    for group in _groups(chain.steps):
        built = [(step, list(step.options(kept))) for step in group]
        options = [o for _, opts in built for o in opts]
        order = sorted(options, key=chain.order) if chain.order else options
        configs = [c for o in order for c in trials(o.config, n)]
        by_id = {r.run_id: r for r in run_grid(
            configs, executor=executor, label=chain.label([s.name for s in group],
                                                          len(options)))}
        # One table of the grid's options, so a column has the same type in every step's rows.
        meta = pd.DataFrame([{"step": step.name, "variant": o.label, **o.columns}
                             for step, opts in built for o in opts])
        first = 0
        for step, opts in built:
            runs = [[by_id[c.run_id] for c in trials(o.config, n)] for o in opts]
            rows = meta.iloc[first:first + len(opts)].reset_index(drop=True)
            first += len(opts)
            result = _score(step, opts, rows, runs)
            done.append(result)
            if result.kept is not None:
                kept = Kept(base, result.kept_option.config, result.kept_option, tuple(done))
            else:
                kept = Kept(base, kept.config, kept.option, tuple(done))
    position = {step.name: i for i, step in enumerate(chain.steps)}
    return ChainResult(sorted(done, key=lambda s: position[s.step.name]), kept.config)


def variant_options(variants: Callable[[Kept], Sequence[Variant]],
                    arm: Callable[[Variant], Arm]) -> Callable[[Kept], list[Option]]:
    """A step's options from :class:`~mtlib.training.variants.Variant` records:
    ``variants(kept)`` (e.g. the kept option's variant with one more field set), each applied
    to the chain's base and named ``arm(variant)``; labelled and tabled by its fields."""
    def build(kept: Kept) -> list[Option]:
        return [Option(arm(v), v.apply(kept.base), v.label, v, v.columns())
                for v in variants(kept)]
    return build


def _groups(steps: Sequence[Step]) -> list[list[Step]]:
    groups: list[list[Step]] = []
    for step in steps:
        if step.independent and groups:
            groups[0].append(step)
        elif step.joins_previous and groups:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def _and(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _score(step: Step, options: list[Option], meta: pd.DataFrame,
           runs: list[list[RunResult]]) -> StepResult:
    frame = runs_frame([r for rs in runs for r in rs])
    frame["_option"] = [i for i, rs in enumerate(runs) for _ in rs]
    table = aggregate(frame, ["_option"]).drop(columns="_option")
    table = pd.concat([meta, table], axis=1)
    kept = None if step.keep is None else step.keep(table, options)
    return StepResult(step, options, table, runs, kept)
