"""What a profile will train, found by running the report's own section code with an executor
that records instead of training (:class:`mtlib.training.executors.RecordingExecutor`).

Which value each search stage keeps cannot be known without training; the recording follows
the report's path: its scores favour the values the report kept (min-max input, 32 filters,
lr 0.0075, momentum 0.95) and the 256/256 pair, and otherwise tie, so the first variant of a
grid is kept. The run counts do not depend on these choices; later grids' costs do a little.
"""

from __future__ import annotations

import math

import pandas as pd

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.report.profiles import Profile
from mtlib.report.sections import (
    future_work,
    hyperparameter_search,
    length_stride_table,
    normalisation_dropout,
    samplecnn,
    seed_noise,
)
from mtlib.training.executors import RecordingExecutor

REPORT_PAIR = (256, 256)


def report_path_score(config: RunConfig) -> float:
    """Higher the closer ``config`` is to the report's choices (log distance for numbers)."""
    kept = {stage: value for stage, (value, _) in hyperparameter_search.REPORT_KEPT.items()}
    kept["lr"] = kept.pop("lr_fine")
    off = 0.0
    for name, value in kept.items():
        ours = getattr(config, name)
        off += float(ours != value) if isinstance(value, str) else abs(math.log(ours / value))
    off += float((config.length, config.stride) != REPORT_PAIR)
    return 0.9 - 0.01 * off


def record(profile: Profile) -> tuple[RecordingExecutor, dict[str, tuple[int, int]]]:
    """Run notebooks 02, 03, 06, 07 and 09's grids through a recorder. Returns it and, per
    notebook, the slice ``(first, end)`` of ``recorder.grids`` it asked for."""
    rec, spans, _ = _record(profile)
    return rec, spans


def arms(profile: Profile) -> dict[Arm, list[str]]:
    """Every arm the sections' studies name for ``profile``, with its run ids, on the
    report's path (see :func:`report_path_score`): the arms a claim may refer to."""
    return _record(profile)[2]


def _record(profile: Profile) -> tuple[RecordingExecutor, dict[str, tuple[int, int]],
                                       dict[Arm, list[str]]]:
    rec = RecordingExecutor(report_path_score)
    spans: dict[str, tuple[int, int]] = {}
    named: dict[Arm, list[str]] = {}

    def span(notebook: str, start: int) -> None:
        spans[notebook] = (start, len(rec.grids))

    search = hyperparameter_search.run(profile, rec)
    span(hyperparameter_search.SLUG, 0)
    named.update({a: ids for s in search.stages for a, ids in s.step.arms().items()})
    start = len(rec.grids)
    chosen = hyperparameter_search.recipe(profile, search.chosen)
    t1 = length_stride_table.run(profile, chosen, rec)
    span(length_stride_table.SLUG, start)
    named.update(length_stride_table.arm_runs(t1))
    best = t1.best
    base = length_stride_table.shallow_config(profile, chosen, length=int(best["length"]),
                                              stride=int(best["stride"]))
    start = len(rec.grids)
    t2 = normalisation_dropout.run(profile, base, rec)
    span(normalisation_dropout.SLUG, start)
    named.update(t2.study.arms())
    start = len(rec.grids)
    study = samplecnn.run(profile, t2.best_group.groups, rec)
    span(samplecnn.SLUG, start)
    named.update(study.study.arms())
    start = len(rec.grids)
    future = future_work.arms(
        profile, future_work.raw_arm_config(profile, t2.final_config),
        future_work.samplecnn_config(profile, study.final_results[0].config))
    results = future_work.train(future, profile.future_trials, rec)
    span(future_work.SLUG, start)
    named.update({a.arm: [r.run_id for r in results[a.key]] for a in future})
    start = len(rec.grids)
    configs = {c.run_id: c for c in rec.configs()}
    references = {ref.family: configs[named[Arm.parse(ref.arm)][0]].replace(seed=0)
                  for ref in seed_noise.REFERENCES if ref.arm and Arm.parse(ref.arm) in named}
    references["shallow"] = base.replace(seed=0)  # Table I's best pair, as notebook 10 reads it
    noise = seed_noise.run(profile, rec, references)
    span(seed_noise.SLUG, start)
    named.update(seed_noise.arm_runs(noise))
    return rec, spans, named


def plan(profile: Profile) -> pd.DataFrame:
    """One row per grid the report trains: notebook, grid, model, runs (configs not already in
    an earlier grid: the run store trains each once), epochs per run, train_clips (None: the
    whole train split) and total_epochs, the epochs trained (a run that continues an earlier,
    shorter run trains only the epochs it adds, see
    :meth:`mtlib.training.runs.RunStore.shorter_run`)."""
    rec, spans = record(profile)
    seen: set[str] = set()
    rows = []
    for notebook, (first, end) in spans.items():
        for label, configs in rec.grids[first:end]:
            new = [c for c in {c.run_id: c for c in configs}.values() if c.run_id not in seen]
            trained = [c.epochs - continued_epochs(c, seen) for c in new]
            seen.update(c.run_id for c in new)
            for model in dict.fromkeys(c.model for c in new):
                mine = [i for i, c in enumerate(new) if c.model == model]
                rows.append({
                    "notebook": notebook, "grid": label, "model": model, "runs": len(mine),
                    "epochs": "/".join(str(e) for e in sorted({new[i].epochs for i in mine})),
                    "train_clips": new[mine[0]].max_train_clips,
                    "total_epochs": sum(trained[i] for i in mine),
                })
    return pd.DataFrame(rows)


def continued_epochs(config: RunConfig, seen: set[str]) -> int:
    """Epochs of the longest run among the run ids ``seen`` that ``config`` continues (0:
    none; see :meth:`mtlib.training.runs.RunStore.shorter_run`)."""
    return next((e for e in range(config.epochs - 1, 0, -1)
                 if config.replace(epochs=e).run_id in seen), 0)
