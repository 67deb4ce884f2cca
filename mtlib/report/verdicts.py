"""Every claim of the report (:mod:`mtlib.paper.claims`), and a verdict on it with all of its
uncertainty.

A claim compares *arms*: the runs a notebook trained for one variant, named in its
artifact's ``arms``. Its effect is a statistic of the arms' test predictions, for most claims
the difference of their mean test macro ROC-AUC. Its 95 % interval holds both sources of
noise that would change the answer on a rerun (Bouthillier et al., MLSys 2021):

- **test clips**: a paired bootstrap over the test clips (every resample draws the clips once
  and scores every trial of every arm on them);
- **seeds**: with :data:`~mtlib.report.statistics.MIN_TRIALS_TWO_LEVEL` trials or more per arm,
  a two-level bootstrap that also resamples the trials; with fewer, the seed variance that
  notebook 10 measured for the arm's model family (a few seeds of one reference
  configuration, net of the test clips' part), added to the clip bootstrap by an exact
  convolution (Student t with the estimate's degrees of freedom). A per-tag statistic of one
  configuration takes its seed variance from that statistic on the reference seeds. The row
  says which noise its interval holds and where its seed term came from.

The verdicts, from the interval (``verdict_interval``) and then adjusted for multiplicity:

- **holds** / **fails**: the effect is decided in / against the report's direction after
  Holm's adjustment over the report's claims (family-wise error 5 %: each "holds" can be
  quoted alone); the unadjusted interval is shown beside it;
- **inconclusive**: not decided, or decided only before the adjustment;
- **not trained enough**: an arm is below validation :data:`VALIDATION_FLOOR` where the
  report's matching arm was not (a faithful replication of an arm the report itself could
  not train is judged, not hidden); ``verdict_interval`` keeps what the interval says;
- **diverged**: a run of an arm diverged (its loss became NaN or infinite); the note gives
  the epoch and the last finite loss. The arm failed to train, which is a result; no score
  is made up for it;
- **not measured**: the profile trained no such arm, or the vocabulary lacks the tag.

Each row also gives the smallest effect this run could resolve (80 % power), the same for
``full`` on MTAT (4,332 test clips and ``full``'s trials, scaled as in
:func:`~mtlib.report.statistics.project_sd`), whether the report's own difference is too
small to decide even there, and whether it lies inside our interval. Section IX's rows (what
the report expected of its future work) and the calibration rows (two seeds of one
configuration, which must read inconclusive) are judged the same way but kept out of the
report's family and counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from mtlib.paper.arms import Arm
from mtlib.paper.claims import CLAIMS, Claim
from mtlib.paper.numbers import BY_KEY
from mtlib.report import statistics as st
from mtlib.report.artifacts import artifact_path, read_artifact
from mtlib.report.products import WITH_FINDINGS
from mtlib.training.metrics import binary_auc
from mtlib.training.rundir import RunResult
from mtlib.training.runs import RunStore

VALIDATION_FLOOR = 0.65  # below this validation ROC-AUC an arm has not learnt enough to judge
BOOTSTRAP = st.RESAMPLES  # resamples of the test clips (seeded: the table is reproducible)
CUSTOM_BOOTSTRAP = 1000  # resamples for per-tag statistics, recomputed on every resample
CONFIDENCE = st.CONFIDENCE
SEED = st.SEED
VERDICTS = ("holds", "fails", "inconclusive", "not trained enough", "diverged",
            "not measured")
SEED_NOISE = "10_seed_noise"  # the notebook whose artifact holds each family's seed variance
HARD_TAGS = 5  # "the problematic tags": the shallow CNN's five hardest
REPORT_PEAK = ("figure3.best_epoch", "figure3.epochs")  # Figure 3: epoch 19 of 30
# full's trials per arm, by the arm's study (for the projection to MTAT)
FULL_TRIALS_FIELD = {"search": "search_trials", "table1": "shallow_trials",
                     "table2": "shallow_trials", "samplecnn": "samplecnn_trials",
                     "future": "future_trials", "noise": "shallow_trials"}


def collect_arms(profile: str) -> dict[str, list[str]]:
    """Every arm's run ids, from the artifacts of ``profile`` that exist."""
    out: dict[str, list[str]] = {}
    for slug in WITH_FINDINGS:
        if artifact_path(slug, profile).is_file():
            out.update(read_artifact(slug, profile).get("arms", {}))
    return out


# --- test predictions -------------------------------------------------------------------
def _aligned(runs: Sequence[RunResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Test predictions of ``runs`` on common clips: ids [n], y_true [n, T], scores
    [runs, n, T], tags (the tags all runs share, in the first run's order)."""
    preds = [r.predictions() for r in runs]
    ids = preds[0][0]
    for p in preds:
        ids = np.intersect1d(ids, p[0])
    tags = [t for t in preds[0][3] if all(t in p[3] for p in preds)]
    scores, y_true = [], None
    for clip_id, y, score, run_tags in preds:
        position = {int(c): i for i, c in enumerate(clip_id)}
        rows = np.array([position[int(c)] for c in ids], dtype=np.int64)
        cols = [run_tags.index(t) for t in tags]
        scores.append(score[rows][:, cols])
        y_true = y[rows][:, cols] if y_true is None else y_true
    return ids, y_true, np.stack(scores), tags


def per_tag_auc(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC-AUC per tag: y_true [n, T], scores [..., n, T] -> [..., T] (NaN: one class)."""
    lead = scores.shape[:-2]
    flat = scores.reshape(-1, *scores.shape[-2:])
    out = np.stack([binary_auc(y_true.T, s.T) for s in flat])
    return out.reshape(*lead, y_true.shape[1])


def bootstrap(statistic: Callable[[np.ndarray], float], n: int,
              resamples: int = CUSTOM_BOOTSTRAP, seed: int = SEED) -> np.ndarray:
    """``statistic(rows)`` on ``resamples`` draws of ``n`` row indices with replacement."""
    rng = np.random.default_rng(seed)
    return np.array([statistic(rng.integers(0, n, n)) for _ in range(resamples)])


# --- seed noise -------------------------------------------------------------------------
def family(run: RunResult) -> str:
    """The model family whose seed variance a run's arm takes: "shallow" or "samplecnn"."""
    return "samplecnn" if run.config.model == "samplecnn" else "shallow"


@dataclass
class FamilyNoise:
    """Each family's seed variance (net of test clips) and the reference runs behind it."""

    variance: dict[str, st.SeedVariance] = field(default_factory=dict)
    references: dict[str, list[RunResult]] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)

    def of(self, runs: Sequence[RunResult]) -> st.SeedVariance | None:
        return self.variance.get(family(runs[0]))

    def statistic_variance(self, fam: str, statistic: Callable[[np.ndarray, np.ndarray], float]
                           ) -> st.SeedVariance | None:
        """The variance over the reference seeds of ``fam`` of ``statistic(y, scores [1, n,
        T])``, one seed at a time (gross: it also holds those seeds' clip noise, so the
        interval errs wide)."""
        refs = self.references.get(fam)
        if not refs or len(refs) < 2:
            return None
        _, y, s, _ = _aligned(refs)
        values = np.array([statistic(y, s[i:i + 1]) for i in range(len(refs))])
        values = values[np.isfinite(values)]
        if len(values) < 2:
            return None
        return st.SeedVariance(float(values.var(ddof=1)), len(values) - 1)


def family_noise(profile: str, store: RunStore, resamples: int = BOOTSTRAP) -> FamilyNoise:
    """The seed variances notebook 10 measured for ``profile`` (empty before it ran)."""
    out = FamilyNoise()
    if not artifact_path(SEED_NOISE, profile).is_file():
        return out
    for fam, entry in read_artifact(SEED_NOISE, profile).get("seed_variance", {}).items():
        runs = [store.load(i) for i in entry["run_ids"]]
        if len(runs) < 2 or any(r is None for r in runs):
            continue
        _, y, s, _ = _aligned(runs)
        macros = st.macro_auc(y, s)
        clip = st.bootstrap_macros(y, s, resamples)
        out.variance[fam] = st.seed_variance(macros, clip)
        out.references[fam] = runs
        out.source[fam] = f"{len(runs)} {fam} seeds"
    return out


# --- one claim --------------------------------------------------------------------------
@dataclass
class Measured:
    """A claim's statistic: its interval, the trials behind it, and a note."""

    interval: st.EffectInterval
    noise: str  # which noise the interval holds, and where the seed term came from
    trials: tuple[int, int]
    seed_var: float = np.nan  # the seed variance of the effect (NaN: none in the interval)
    note: str = ""
    n_clips: int = 0  # test clips the interval resamples


def _report_difference(claim: Claim) -> tuple[float, str]:
    """The report's difference for ``claim`` (NaN: none) and the split it is measured on."""
    if not claim.report:
        return np.nan, ""
    entries = [BY_KEY[k] for k in claim.report]
    values = [e.value / 100 if e.unit in ("%", "% gain") else e.value for e in entries]
    splits = sorted({e.split for e in entries})
    diff = values[0] if len(values) == 1 else values[0] - values[1]
    return float(diff), "/".join(splits)


def _macro_arms(a: list[RunResult], b: list[RunResult], noise: FamilyNoise,
                resamples: int) -> Measured:
    """Difference of mean test macro ROC-AUC, with clip and seed noise."""
    _, y, s, _ = _aligned(a + b)
    sa, sb = s[: len(a)], s[len(a):]
    ka, kb = len(a), len(b)
    if st.recommended_method(ka, kb) == "two-level bootstrap":
        iv = st.two_level_bootstrap(y, sa, sb, resamples)
        return Measured(iv, f"clips + seeds: two-level bootstrap ({ka} and {kb} trials)",
                        (ka, kb), iv.sd_seed ** 2, n_clips=len(y))
    clip = st.clip_bootstrap(y, sa, sb, resamples)
    va, vb = noise.of(a), noise.of(b)
    if va is None or vb is None or not (np.isfinite(va.var) and np.isfinite(vb.var)):
        return Measured(st.clip_only_interval(clip.effect, clip.samples),
                        "clips only: no seed variance for this family", (ka, kb),
                        n_clips=len(y))
    df = va.df if va is vb else st.satterthwaite_df([va.var / ka, vb.var / kb], [va.df, vb.df])
    iv = st.interval_with_seed_variance(clip.effect, clip.samples, va.var, vb.var, ka, kb,
                                        seed_df=df)
    fams = sorted({family(a[0]), family(b[0])})
    source = "; ".join(noise.source[f] for f in fams)
    return Measured(iv, f"clips + seeds: {source}", (ka, kb), va.var / ka + vb.var / kb,
                    n_clips=len(y))


def _best_of(a: list[RunResult], rivals: list[list[RunResult]], noise: FamilyNoise,
             resamples: int) -> Measured:
    """``a``'s mean macro ROC-AUC minus the best rival's, on every resample."""
    runs = a + [r for arm in rivals for r in arm]
    _, y, s, _ = _aligned(runs)
    macros = st.bootstrap_macros(y, s, resamples)  # [B, runs]
    full = st.macro_auc(y, s)
    bounds = np.cumsum([len(a)] + [len(r) for r in rivals])

    def gap(m: np.ndarray) -> np.ndarray:
        means = [m[..., : bounds[0]].mean(-1)] + [m[..., lo:hi].mean(-1) for lo, hi in
                                                   zip(bounds[:-1], bounds[1:], strict=True)]
        return means[0] - np.max(np.stack(means[1:]), axis=0)

    effect, samples = float(gap(full)), gap(macros)
    v = noise.of(a)
    k = min(len(a), *(len(r) for r in rivals))
    if v is None or not np.isfinite(v.var):
        return Measured(st.clip_only_interval(effect, samples),
                        "clips only: no seed variance for this family",
                        (len(a), k), n_clips=len(y),
                        note=f"against the best of {len(rivals)} other value(s)")
    iv = st.interval_with_seed_variance(effect, samples, v.var, v.var, len(a), k, seed_df=v.df)
    return Measured(iv, f"clips + seeds: {noise.source[family(a[0])]}", (len(a), k),
                    v.var / len(a) + v.var / k, n_clips=len(y),
                    note=f"against the best of {len(rivals)} other value(s)")


def _one_arm_statistic(runs: list[RunResult], statistic: Callable[[np.ndarray, np.ndarray],
                       float], noise: FamilyNoise) -> Measured:
    """A per-tag statistic of one arm's trials (their mean per-tag ROC-AUC): clip bootstrap,
    plus the statistic's own variance over the family's reference seeds."""
    _, y, s, _ = _aligned(runs)
    effect = statistic(y, s)
    samples = bootstrap(lambda r: statistic(y[r], s[:, r]), len(y))
    v = noise.statistic_variance(family(runs[0]), statistic)
    if v is None:
        return Measured(st.clip_only_interval(effect, samples),
                        "clips only: no reference seeds", (len(runs), 0),
                        n_clips=len(y))
    k = len(runs)
    # The runs are seeds of the reference itself: the mean of k seeds has variance var / k.
    iv = st.interval_with_seed_variance(effect, samples, v.var, 0.0, k, 1, seed_df=v.df)
    return Measured(iv, f"clips + seeds: its spread over {noise.source[family(runs[0])]}",
                    (k, 0), v.var / k,
                    n_clips=len(y))


def _two_arm_statistic(a: list[RunResult], b: list[RunResult],
                       statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
                       rows: np.ndarray | None = None) -> Measured:
    """A per-tag statistic of two arms, clip bootstrap over ``rows`` (default all clips);
    its seed noise is not measured."""
    _, y, s, _ = _aligned(a + b)
    sa, sb = s[: len(a)], s[len(a):]
    rows = np.arange(len(y)) if rows is None else rows
    effect = statistic(y[rows], sa[:, rows], sb[:, rows])
    samples = bootstrap(lambda r: statistic(y[rows[r]], sa[:, rows[r]], sb[:, rows[r]]),
                        len(rows))
    return Measured(st.clip_only_interval(effect, samples),
                    "clips only: a per-tag gain's seed noise is not measured",
                    (len(a), len(b)), n_clips=len(rows))


def _tag_index(runs: Sequence[RunResult], tag: str) -> int | None:
    tags = _aligned(runs)[3]
    return tags.index(tag) if tag in tags else None


def _mean_auc(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.nanmean(per_tag_auc(y, s), axis=0)


def _statistic(claim: Claim, a: list[RunResult], b: list[RunResult] | None,
               rivals: list[list[RunResult]], noise: FamilyNoise, resamples: int,
               counts: np.ndarray | None) -> Measured | str:
    """The claim's :class:`Measured`, or a note why it cannot be measured."""
    kind, tag = claim.kind, claim.tag
    if kind == "arms":
        return _macro_arms(a, b, noise, resamples)
    if kind == "best_of":
        if not rivals:
            return "this profile trains no other value of the step"
        return _best_of(a, rivals, noise, resamples)
    if kind in ("tag_median", "tag_top", "tag_diff", "tag_gain"):
        if _tag_index(a + (b or []), tag) is None:
            return f"the vocabulary has no {tag} tag"
    if kind in ("tag_median", "tag_top"):
        g = _tag_index(a, tag)
        level = 50 if kind == "tag_median" else 75

        def versus(y: np.ndarray, s: np.ndarray) -> float:
            auc = _mean_auc(y, s)
            return float(auc[g] - np.nanpercentile(np.delete(auc, g), level))

        return _one_arm_statistic(a, versus, noise)
    if kind == "tag_count":
        from scipy.stats import spearmanr

        def rho(y: np.ndarray, s: np.ndarray) -> float:
            auc = _mean_auc(y, s)
            ok = np.isfinite(auc) & (counts > 0)
            return float(spearmanr(counts[ok], auc[ok]).statistic) if ok.sum() > 2 else np.nan

        return _one_arm_statistic(a, rho, noise)
    if kind == "tag_diff":
        g = _tag_index(a + b, tag)

        def diff(y: np.ndarray, sa: np.ndarray, sb: np.ndarray) -> float:
            return float(_mean_auc(y[:, g:g + 1], sa[..., g:g + 1])[0]
                         - _mean_auc(y[:, g:g + 1], sb[..., g:g + 1])[0])

        return _two_arm_statistic(a, b, diff)
    if kind == "tag_gain":
        g = _tag_index(a + b, tag)

        def gain(y: np.ndarray, sa: np.ndarray, sb: np.ndarray) -> float:
            d, s0 = _mean_auc(y, sa), _mean_auc(y, sb)
            return float((d[g] / s0[g] - 1) - (np.nanmean(d) / np.nanmean(s0) - 1))

        return _two_arm_statistic(a, b, gain)
    if kind == "hard_gain":
        ids, y, s, _ = _aligned(a + b)
        choose, measure = ids % 2 == 0, ids % 2 == 1  # select on one half, measure on the other
        shallow = _mean_auc(y[choose], s[len(a):, choose])
        hard = np.argsort(np.where(np.isfinite(shallow), shallow, np.inf))[:HARD_TAGS]

        def hard_gain(y: np.ndarray, sa: np.ndarray, sb: np.ndarray) -> float:
            d, s0 = _mean_auc(y, sa), _mean_auc(y, sb)
            rel = d / s0 - 1
            return float(np.nanmean(rel[hard]) - (np.nanmean(d) / np.nanmean(s0) - 1))

        return _two_arm_statistic(a, b, hard_gain, np.flatnonzero(measure))
    if kind == "peak":
        history = [r.history["val_roc_auc"].to_numpy() for r in a]
        epochs = min(len(h) for h in history)
        best, of = (BY_KEY[k].value for k in REPORT_PEAK)
        peak = max(0, round(best / of * epochs) - 1)
        out = st.peak_drop_contrast(history, peak)
        iv = st.EffectInterval(out["effect"], out["low"], out["high"], np.nan, out["sd"],
                               out["sd"], out["p"], False, "t interval over trials")
        mean_var = out["sd"] ** 2 / out["n_trials"] if out["n_trials"] > 1 else np.nan
        return Measured(iv, f"seeds only: t interval over {out['n_trials']} trial(s)",
                        (out["n_trials"], 0), mean_var,
                        note=_join(f"epoch {peak + 1} of {epochs}", out["note"]))
    raise ValueError(f"claim {claim.key}: unknown kind {kind!r}")


def _val(runs: Sequence[RunResult]) -> float:
    return float(np.mean([r.metrics["val_roc_auc"] for r in runs]))


def _report_arm_value(claim: Claim, i: int) -> float:
    """The report's number for arm ``i`` (0: a, 1: b) in AUC units, NaN when not given."""
    if not claim.report or len(claim.report) != 2:
        return np.nan
    e = BY_KEY[claim.report[i]]
    return e.value / 100 if e.unit == "%" else float(e.value)


def judge(claim: Claim, arms: dict[str, list[str]], store: RunStore | None = None,
          resamples: int = BOOTSTRAP, noise: FamilyNoise | None = None) -> dict[str, Any]:
    """One row of the claims table for ``claim`` given the arms' run ids (by arm key, as the
    artifacts store them). The Holm-adjusted verdict needs the whole table
    (:func:`claims_table`); here ``verdict`` is the interval's."""
    store = store or RunStore()
    noise = noise or FamilyNoise()
    report, split = _report_difference(claim)
    row = {"key": claim.key, "section": claim.section, "group": claim.group,
           "claim": claim.text, "kind": claim.kind, "report_difference": report,
           "report_split": split, "effect": np.nan, "low": np.nan, "high": np.nan,
           "sd_clips": np.nan, "sd_seed": np.nan, "sd_total": np.nan, "p": np.nan,
           "mc_uncertain": False, "noise": "", "trials_a": 0, "trials_b": 0, "n_clips": 0,
           "val_a": np.nan, "val_b": np.nan, "verdict_interval": "not measured",
           "verdict": "not measured", "mde": np.nan, "mde_full": np.nan,
           "too_small_full": False, "report_in_interval": np.nan, "note": claim.note}

    def runs(arm: Arm | None) -> list[RunResult] | None:
        ids = None if arm is None else arms.get(arm.key)
        if not ids:
            return None
        loaded = [store.load(i) for i in ids]
        return None if any(r is None for r in loaded) else loaded

    a, b = runs(claim.a), runs(claim.b)
    diverged = [(arm, r) for arm, rs in ((claim.a, a), (claim.b, b)) for r in rs or ()
                if r.diverged]
    if diverged:
        row["verdict"] = row["verdict_interval"] = "diverged"
        row["note"] = _join(row["note"], *(
            f"{arm.key} diverged in epoch {r.metrics.get('diverged_epoch')} (last finite "
            f"loss {r.metrics.get('last_finite_loss', float('nan')):.4g})" for arm, r in diverged))
        return row
    rivals = []
    if claim.kind == "best_of":
        prefix = f"{claim.a.section}.{claim.a.step}."
        rivals = [r for key in arms if key.startswith(prefix) and key != claim.a.key
                  and (r := runs(Arm.parse(key))) is not None
                  and not any(run.diverged for run in r)]
    if a is None or (claim.b is not None and b is None):
        row["note"] = _join(row["note"], "this profile trains no such arm")
        return row
    if claim.capacity and b is not None:
        row["note"] = _join(row["note"], f"parameters: {claim.a.key} {_parameters(a)}, "
                                         f"{claim.b.key} {_parameters(b)}")
    counts = None
    if claim.kind == "tag_count":
        tags = _aligned(a)[3]
        counts = np.array([a[0].metrics["per_tag"].get(t, {}).get("n_train_pos", 0)
                           for t in tags])
    measured = _statistic(claim, a, b, rivals, noise, resamples, counts)
    row.update(val_a=_val(a), val_b=np.nan if b is None else _val(b))
    if claim.a.section == "noise" and a[0].config.model == "dieleman":
        pair = f"{a[0].config.length}/{a[0].config.stride}"
        side = int(BY_KEY["table1.best.length_stride"].value)
        report_pair = f"{side}/{side}"
        row["note"] = _join(row["note"], f"the {pair} pair, the one the notebooks use"
                            + ("" if pair == report_pair else f" (the report's: {report_pair})"))
    if isinstance(measured, str):
        row["note"] = _join(row["note"], measured)
        return row
    iv = measured.interval
    direction = claim.direction
    row.update(effect=iv.effect, low=iv.low, high=iv.high, sd_clips=iv.sd_clips,
               sd_seed=iv.sd_seed, sd_total=iv.sd_total, p=iv.p_value,
               mc_uncertain=iv.mc_uncertain, noise=measured.noise,
               trials_a=measured.trials[0], trials_b=measured.trials[1],
               n_clips=measured.n_clips,
               verdict_interval=iv.verdict(direction), note=_join(row["note"], measured.note))
    power = measured  # what the power figures are computed from
    one_model = ""
    if claim.kind == "arms" and b is not None and [r.run_id for r in a] == [r.run_id for r in b]:
        one_model = ("both arms are one run: the setting that differs cannot act within this "
                     "profile's epochs")
    elif claim.kind == "arms" and b is not None and _same_predictions(a, b):
        one_model = ("both arms kept the same model (identical test predictions): the change "
                     "never altered the kept epoch")
    if iv.mc_uncertain and not one_model:  # one model's interval is exactly [0, 0]
        row["note"] = _join(row["note"], "the interval's edge is within Monte Carlo error of "
                                         "zero: more resamples could change the verdict")
    if one_model:
        # One model has no noise of its own to size an effect by: take the noise of a
        # difference between two one-trial arms of its family, its calibration pair.
        power = _calibration_pair(a, noise, resamples)
        one_model += ("; the power figures are those of two seeds of its family"
                      if power is not None else "; no power figures without a second seed")
        row["note"] = _join(row["note"], one_model)
    if power is not None and np.isfinite(power.interval.sd_total):
        row["mde"] = st.minimal_detectable_effect(power.interval.sd_total)
        row["mde_full"] = _mde_full(claim, power.interval, power)
        row["too_small_full"] = bool(np.isfinite(report)
                                     and abs(report) < row["mde_full"])
    if np.isfinite(report) and np.isfinite(iv.low):
        row["report_in_interval"] = bool(iv.low <= report <= iv.high)
    row["verdict"] = row["verdict_interval"]
    floor = _below_floor(claim, a, b)
    if floor:
        row["verdict"] = "not trained enough"
        row["note"] = _join(row["note"], floor)
    return row


@functools.cache
def _full_trials(name: str) -> int:
    """``full``'s trials per arm, profile field ``name`` (read once)."""
    from mtlib.report.profiles import load_profile

    return int(getattr(load_profile("full"), name))


def _mde_full(claim: Claim, iv: st.EffectInterval, measured: Measured) -> float:
    """The smallest effect ``full`` could resolve on MTAT with this protocol: this run's clip
    variance scaled to 4,332 test clips, its seed variance to ``full``'s trials."""
    trials = _full_trials(FULL_TRIALS_FIELD[claim.a.section])
    now = max(measured.trials[0], 1)
    clip_var = iv.sd_clips ** 2 if np.isfinite(iv.sd_clips) else 0.0
    seed_var = measured.seed_var if np.isfinite(measured.seed_var) else 0.0
    n_now = max(measured.n_clips, 1)
    projected = st.project_sd(clip_var, n_now, st.MTAT_TEST_CLIPS, seed_var, now, trials)
    return st.minimal_detectable_effect(projected.total_sd)


def _below_floor(claim: Claim, a: list[RunResult], b: list[RunResult] | None) -> str:
    """A note when an arm is below the validation floor and the report's matching arm was
    not ("" otherwise): the budget, not the claim, decided the comparison."""
    below = []
    for i, (arm, runs) in enumerate(((claim.a, a), (claim.b, b))):
        if runs is None or _val(runs) >= VALIDATION_FLOOR:
            continue
        reported = _report_arm_value(claim, i)
        if np.isfinite(reported) and reported < VALIDATION_FLOOR:
            continue  # the report's own arm did not learn either: judge it
        below.append(f"{arm.key} {_val(runs):.2f}")
    if not below:
        return ""
    return (f"validation {', '.join(below)}, below the floor {VALIDATION_FLOOR:.2f} where the "
            "report's arm was not")


def _parameters(runs: Sequence[RunResult]) -> str:
    """The trained model's parameter count (``metrics["n_params"]``), with thousands commas."""
    count = runs[0].metrics.get("n_params")
    return "unknown" if count is None else f"{int(count):,}"


def _calibration_pair(runs: Sequence[RunResult], noise: FamilyNoise, resamples: int
                      ) -> Measured | None:
    """The difference between the first two reference seeds of ``runs``' family (notebook
    10), measured as two one-trial arms are; None without two seeds."""
    refs = noise.references.get(family(runs[0]), [])
    return _macro_arms(refs[:1], refs[1:2], noise, resamples) if len(refs) >= 2 else None


def _same_predictions(a: Sequence[RunResult], b: Sequence[RunResult]) -> bool:
    """Whether every trial of ``a`` scored the test clips exactly as its trial in ``b``."""
    return len(a) == len(b) and all(
        np.array_equal(x.predictions()[2], y.predictions()[2]) for x, y in zip(a, b, strict=True))


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


# --- the table --------------------------------------------------------------------------
def adjust(table: pd.DataFrame) -> pd.DataFrame:
    """Holm's adjustment over the report's claims (group "report") with a p-value: ``p_holm``
    and the adjusted verdict. Section IX and calibration rows keep their own family each."""
    table = table.copy()
    table["p_holm"] = np.nan
    for _, rows in table.groupby("group", sort=False):
        decided = rows.index[rows["p"].notna() & rows["verdict"].isin(
            ["holds", "fails", "inconclusive"])]
        if not len(decided):
            continue
        adjusted = st.holm(table.loc[decided, "p"].to_numpy())
        table.loc[decided, "p_holm"] = adjusted
        for i, p in zip(decided, adjusted, strict=True):
            if table.at[i, "verdict"] in ("holds", "fails") and not p < st.ALPHA:
                table.at[i, "verdict"] = "inconclusive"
                table.at[i, "note"] = _join(table.at[i, "note"],
                                            f"decided before Holm's adjustment (p {p:.3f})")
    return table


def claims_table(profile: str, resamples: int = BOOTSTRAP,
                 sections: Sequence[str] | None = None) -> pd.DataFrame:
    """Every claim of :data:`CLAIMS` (or those of the report's ``sections``) with its
    verdict, for the runs of ``profile``, Holm-adjusted within each group."""
    arms = collect_arms(profile)
    store = RunStore()
    noise = family_noise(profile, store, resamples)
    chosen = [c for c in CLAIMS if sections is None or c.section in sections]
    table = pd.DataFrame([judge(c, arms, store, resamples, noise) for c in chosen])
    return adjust(table) if len(table) else table


def verdict_counts(table: pd.DataFrame, group: str | None = "report") -> dict[str, int]:
    """How many claims of ``group`` ("report", "future", "calibration"; None: all) got each
    verdict."""
    rows = table if group is None or "group" not in table else table[table["group"] == group]
    return {v: int((rows["verdict"] == v).sum()) for v in VERDICTS}


def chance_line(table: pd.DataFrame, group: str = "report") -> str:
    """How many of the group's decisive verdicts chance could give: before the adjustment
    (each judged claim decides by chance with probability 5 %) and after it (Holm: at most
    one with probability 5 %)."""
    rows = table[table["group"] == group] if "group" in table else table
    judged = rows["verdict_interval"].isin(["holds", "fails", "inconclusive"])
    decisive = int(rows.loc[judged, "verdict_interval"].isin(["holds", "fails"]).sum())
    chance = st.expected_false_verdicts(int(judged.sum()), st.ALPHA, decisive)
    return (f"Of {int(judged.sum())} claims judged, {decisive} are decided by their unadjusted "
            f"95 % intervals; if none had any effect, chance alone would decide "
            f"{chance['expected']:.1f} of them on average. Holm's adjustment keeps the chance "
            "that any adjusted holds or fails is wrong at 5 %.")
