"""Notebook 10: how far a rerun with another seed moves each model family.

Most arms of the quick profile, and every arm of the search in ``full``, train one trial, so
the test-clip bootstrap alone cannot say whether a difference between two arms is more than
one seed's luck. This section trains a few seeds of one reference configuration per model
family, at the budget its claims are judged on, and measures the spread of their test macro
ROC-AUC. :mod:`mtlib.report.verdicts` adds that seed variance to the interval of every
claim whose arms have too few trials to measure their own, and the first two seeds of each
reference form a calibration pair: two arms that differ only in seed, whose claim must read
"inconclusive".

The references are runs other notebooks trained (seed 0 is reused from the run store):

- shallow CNN: Table I's best pair on validation (notebook 03), the configuration notebooks
  04-07 and 09 build on, so the per-tag claims of Figures 3 and 4 judge the pair the
  notebooks show;
- SampleCNN: the one-epoch recreation of Lee et al.'s recipe (notebook 07).

Trial ``k`` uses seed ``k``, as everywhere (:mod:`mtlib.report.sections.grids`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.report import plots
from mtlib.report.artifacts import read_artifact, write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile
from mtlib.training.executors import Executor, run_grid
from mtlib.training.rundir import RunResult
from mtlib.training.runs import RunStore

SLUG = "10_seed_noise"


@dataclass(frozen=True)
class Reference:
    """A model family's reference configuration: the arm of notebook ``notebook`` whose first
    run it reseeds (``arm`` None: Table I's best pair on validation, from its artifact)."""

    family: str
    label: str
    notebook: str
    arm: str | None


REFERENCES = (
    Reference("shallow", "shallow CNN: Table I's best pair", "03_length_stride_table", None),
    Reference("samplecnn", "SampleCNN: the recreation of Lee et al.'s recipe", "07_samplecnn",
              "samplecnn.recreation"),
)


@dataclass
class SeedNoise:
    """``runs``: one row per (family, seed) with val/test ROC-AUC and run_id; ``spread``:
    one row per family with the seeds' test mean, standard deviation and count."""

    runs: pd.DataFrame
    spread: pd.DataFrame
    reference_ids: dict[str, list[str]]  # family -> run ids, in seed order


def reference_config(profile: Profile, ref: Reference, store: RunStore | None = None
                     ) -> RunConfig | None:
    """The config of ``ref``'s first run for ``profile`` (None: its notebook trained no such
    arm)."""
    art = read_artifact(ref.notebook, profile.name)
    ids = art.get("best_run_ids") if ref.arm is None else art.get("arms", {}).get(ref.arm)
    if not ids:
        return None
    store = store or RunStore()
    first = store.require(ids[:1], f"notebook {ref.notebook}")[0]
    return first.config.replace(seed=0)


def run(profile: Profile, executor: str | Executor = "local",
        references: dict[str, RunConfig] | None = None) -> SeedNoise:
    """Train (or reuse) ``profile.noise.<family>_seeds`` seeds of each reference (a family
    whose notebook trained no reference arm is skipped). ``references``: each family's
    reference config (default: read from the artifacts of notebooks 03 and 07)."""
    seeds = {"shallow": profile.noise_shallow_seeds, "samplecnn": profile.noise_samplecnn_seeds}
    rows, ids = [], {}
    for ref in REFERENCES:
        n = int(seeds.get(ref.family, 0))
        if references is not None:
            base = references.get(ref.family)
        else:
            base = reference_config(profile, ref) if n >= 2 else None
        if base is None:
            continue
        results: list[RunResult] = run_grid([base.replace(seed=k) for k in range(n)],
                                            executor=executor,
                                            label=f"{ref.family} reference ({n} seeds)")
        ids[ref.family] = [r.run_id for r in results]
        label = (f"{ref.label} ({base.length}/{base.stride})" if ref.family == "shallow"
                 else ref.label)
        rows += [{"family": ref.family, "reference": label, "seed": r.config.seed,
                  "val_roc_auc": r.metrics["val_roc_auc"],
                  "test_roc_auc": r.metrics["test_roc_auc"], "run_id": r.run_id}
                 for r in results]
    runs = pd.DataFrame(rows, columns=["family", "reference", "seed", "val_roc_auc",
                                       "test_roc_auc", "run_id"])
    spread = (runs.groupby(["family", "reference"], sort=False)["test_roc_auc"]
              .agg(test_roc_auc_mean="mean", test_roc_auc_std="std", seeds="size")
              .reset_index())
    return SeedNoise(runs=runs, spread=spread, reference_ids=ids)


def arm_runs(noise: SeedNoise) -> dict[Arm, list[str]]:
    """The arms of the references: ``noise.<family>`` with every seed, and the calibration
    pair ``noise.<family>.seed0`` and ``noise.<family>.seed1``, one run each."""
    out: dict[Arm, list[str]] = {}
    for family, ids in noise.reference_ids.items():
        out[Arm("noise", family)] = list(ids)
        out[Arm("noise", family, "seed0")], out[Arm("noise", family, "seed1")] = ids[:1], ids[1:2]
    return out


def arms(noise: SeedNoise) -> dict[str, list[str]]:
    """:func:`arm_runs` by arm key, as the artifact stores them."""
    return {arm.key: ids for arm, ids in arm_runs(noise).items()}


def seed_variances(noise: SeedNoise) -> dict[str, dict]:
    """Per family: the unbiased variance of one run's test macro ROC-AUC across seeds, its
    degrees of freedom, and what it was measured on (what the verdicts read)."""
    return {r.family: {"variance": float(r.test_roc_auc_std ** 2), "df": int(r.seeds - 1),
                       "seeds": int(r.seeds), "reference": r.reference,
                       "run_ids": noise.reference_ids[r.family]}
            for r in noise.spread.itertuples()}


def save(profile: Profile, noise: SeedNoise) -> Outputs:
    out = Outputs()
    out.table(SLUG, noise.spread)
    out.table(f"{SLUG}_runs", noise.runs.drop(columns="run_id"))
    out.figure(SLUG, plots.seed_strip(noise.runs))
    write_artifact(SLUG, profile.name, {"seed_variance": seed_variances(noise),
                                        "arms": arms(noise)})
    return out


def closing(noise: SeedNoise) -> str:
    """The notebook's closing paragraph (Markdown)."""
    if noise.spread.empty:
        return ("This profile trains no extra seeds, so the verdicts carry test-clip noise "
                "only (see the claims table's notes).")
    parts = [f"{r.reference}: {r.seeds} seeds score test ROC-AUC {r.test_roc_auc_mean:.3f} "
             f"on average, with a standard deviation of **{r.test_roc_auc_std:.3f}**"
             for r in noise.spread.itertuples()]
    return ("; ".join(parts) + ". A difference between two one-trial arms of a family carries "
            "this spread twice (once per arm) on top of the test clips' sampling noise; the "
            "claims table adds it to every interval whose arms cannot measure their own, and "
            "judges the first two seeds of each reference against each other as a "
            "calibration row, which should read inconclusive.")

