"""Statistics for the claims table: an effect's interval with both sources of noise, a
correction for the number of verdicts, power, and the Figure 3 contrast.

Pure functions on numpy arrays (no run store, no files), every random draw from a seeded
``np.random.default_rng``, so the same inputs and seed give the same numbers.

Noise sources. Following Bouthillier et al., "Accounting for variance in machine learning
benchmarks" (MLSys 2021), the variance of a comparison "arm A beats arm B" is the sum of the
*data-sampling* variance (which test clips were drawn) and the *training* variance (which
seed trained each model). A bootstrap over test clips alone holds the first only: two
seeds of one configuration differ by about as much as the clip noise of a difference on
~250 test clips, so an interval from clips alone decides too often.

- **Arms with >= 2 trials each**: :func:`two_level_bootstrap`. Each resample draws the test
  clips once (paired: the same clips for every trial of both arms) and, given those clips,
  draws each arm's trials with replacement; the effect is the difference of the drawn
  trials' mean macro ROC-AUC. Chosen over a variance sum because the arms' own trials
  measure their own seed noise (no assumption that every arm is as noisy as a reference
  configuration) and the percentile interval keeps any skew. With few trials a bootstrap of
  means understates their variance by ``(k - 1) / k``; the drawn means are stretched about
  the arm's mean by ``sqrt(k / (k - 1))`` to undo that (``small_sample_correction``). Below
  :data:`MIN_TRIALS_TWO_LEVEL` trials the trial level takes few distinct values and its
  variance has few degrees of freedom, so the interval decides too often (in simulation:
  12 % false decisions at nominal 5 % with 2 trials per arm, 5 % with 5);
  :func:`recommended_method` then picks the variance sum below, with a seed variance pooled
  over reference configurations.
- **An arm with one trial** (most arms of the quick profile, every value of the search):
  its own seed noise cannot be seen, so :func:`interval_with_seed_variance` adds it from
  repeated seeds of reference configurations (:func:`seed_variance`,
  :func:`pool_seed_variances`): the variance of an arm's mean over ``k`` trials is
  ``seed_var / k``. The clip bootstrap gives the clip-noise distribution of the effect; the
  total is its *exact* convolution with the seed noise (normal, or Student t with the seed
  variance's degrees of freedom when it is an estimate): the mixture of seed-noise
  distributions centred on each clip resample, whose quantiles are solved for, so no further
  random draws and no extra Monte Carlo error. A normal approximation (total variance = clip
  variance + seed variance) is offered too. Assumptions: every arm of a model family and
  budget has the seed variance of its reference configurations, and the two sources add.

Counted once. Two seeds scored on one test set also differ because each model errs on other
clips; the clip bootstrap of a comparison already holds that part. :func:`seed_variance`
(given the reference seeds' clip bootstrap) and :func:`two_level_bootstrap` (``net_of_clips``)
subtract it, so that the seed variance is that of the models' quality alone. Counted twice,
the simulated interval of ``tests/test_statistics.py`` was about 20 % too wide (about 2 %
false decisions at nominal 5 %); net, its s.d. matched the true spread of the effect.

Cost. ROC-AUC does not decompose over clips, so every resample recomputes each run's macro
ROC-AUC. :func:`weighted_macro_auc` sorts each run's scores once and then, for a resample
given as the count of each clip's draws, needs only cumulative sums, vectorised over
resamples; a custom ``macro(y_true, scores)`` function can replace it (called once per
resample). The trial level of the two-level bootstrap costs nothing more: each trial's
macro ROC-AUC is computed once per clip draw and the trials are drawn from those values.

Both return an :class:`EffectInterval` with the components (clip s.d., seed s.d., total
s.d.), so the table can say which noise its interval holds.

Monte Carlo error. Every interval carries ``mc_uncertain``: whether its edge nearest zero is
within Monte Carlo error of zero, i.e. whether another bootstrap seed could flip the verdict
(for sample quantiles: zero inside the binomial order-statistic interval of the edge
quantile, :func:`quantile_mc_interval`; for the convolution: the p-value within two standard
errors of ``alpha``). Such a verdict needs more resamples, not a reading.

Multiplicity: Holm. The table states verdicts that a reader quotes one at a time ("the
report's claim X holds"), so the guarantee has to hold for each quoted verdict: Holm's
step-down procedure (:func:`holm`) controls the family-wise error rate, the chance that
*any* decisive verdict (holds or fails) of the table is wrong, at ``alpha``, under any
dependence between the claims, and is uniformly more powerful than Bonferroni.
Benjamini-Hochberg would control only the expected *share* of false verdicts among the
decisive ones, which says nothing about the particular verdict a reader quotes. The
p-values come from the same distribution as the interval (:attr:`EffectInterval.p_value`
is below ``alpha`` when the interval excludes zero; exactly so for the convolution). One
counted from bootstrap samples is never below 2 / (B + 1), so Holm over m claims needs
B > 2m / alpha resamples.
:func:`expected_false_verdicts` states how many decisive verdicts chance alone would give.

Power: :func:`minimal_detectable_effect`, :func:`project_sd` (what the noise would be on the
full test set of MTAT, :data:`MTAT_TEST_CLIPS`, with more trials) and
:func:`too_small_to_decide`.

Figure 3: :func:`peak_drop_contrast`, a pre-specified contrast (validation ROC-AUC around the
report's peak epoch minus the last epochs) that, unlike "maximum minus last", is negative
when the curve keeps rising.

Shapes: ``y_true`` is 0/1 ``[n_clips, n_tags]``; ``scores`` of an arm ``[trials, n_clips,
n_tags]``; bootstrap samples ``[resamples]``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, NamedTuple, Sequence

import numpy as np
from scipy import optimize, stats

from mtlib.training.metrics import binary_auc

RESAMPLES = 2000  # bootstrap resamples: enough for the 2.5 % / 97.5 % quantiles of a verdict
CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
SEED = 0
MTAT_TEST_CLIPS = 4332  # test clips of MTAT's usual split (the full profile)
MIN_TRIALS_TWO_LEVEL = 5  # fewest trials per arm for which the two-level bootstrap is used

Macro = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (y [n, T], scores [k, n, T]) -> [k]


# --- macro ROC-AUC ----------------------------------------------------------------------
def macro_auc(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Mean over tags of the per-tag ROC-AUC: y_true [n, T], scores [k, n, T] -> [k].

    Tags with one class only are left out of the mean (NaN if no tag is left)."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    k, n, n_tags = s.shape
    labels = np.broadcast_to(y.T[None], (k, n_tags, n)).reshape(k * n_tags, n)
    auc = binary_auc(labels, s.transpose(0, 2, 1).reshape(k * n_tags, n)).reshape(k, n_tags)
    return _nanmean(auc, axis=1)


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def weighted_macro_auc(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray,
                       chunk: int = 256) -> np.ndarray:
    """Macro ROC-AUC of every run under every clip weighting: y_true [n, T], scores [k, n, T],
    weights [B, n] (a bootstrap resample is the count of each clip's draws) -> [B, k].

    Equals :func:`macro_auc` on the resampled clips (ties, including a clip drawn twice,
    count one half), but sorts each run's scores once and then needs only cumulative sums per
    resample, vectorised over resamples (``chunk`` at a time, to bound memory)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    w_all = np.asarray(weights, dtype=np.float64)
    k, n, n_tags = s.shape
    out = np.full((w_all.shape[0], k, n_tags), np.nan)
    prepared = []  # per (run, tag): the sort order, tie-group starts, positives in that order
    for j in range(k):
        for t in range(n_tags):
            order = np.argsort(s[j, :, t], kind="stable")
            sorted_scores = s[j, order, t]
            starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
            prepared.append((j, t, order, starts, y[order, t]))
    for lo in range(0, w_all.shape[0], chunk):
        w = w_all[lo:lo + chunk]
        for j, t, order, starts, pos in prepared:
            ws = w[:, order]
            w_pos = np.where(pos, ws, 0.0)
            w_neg = ws - w_pos
            if len(starts) < n:  # ties: sum each group of equal scores
                g_pos = np.add.reduceat(w_pos, starts, axis=1)
                g_neg = np.add.reduceat(w_neg, starts, axis=1)
            else:
                g_pos, g_neg = w_pos, w_neg
            below = np.cumsum(g_neg, axis=1) - g_neg  # negatives scored strictly lower
            pairs = g_pos.sum(1) * g_neg.sum(1)
            with np.errstate(divide="ignore", invalid="ignore"):
                auc = (g_pos * (below + 0.5 * g_neg)).sum(1) / pairs
            out[lo:lo + chunk, j, t] = np.where(pairs > 0, auc, np.nan)
    return _nanmean(out, axis=2)


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the clip draws and the trial draws of one seed."""
    clips, trials = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(clips), np.random.default_rng(trials)


def _resampled_macros(y: np.ndarray, scores: np.ndarray, resamples: int,
                      rng: np.random.Generator, macro: Macro | None,
                      chunk: int = 256) -> np.ndarray:
    """Macro ROC-AUC of every run [k] on ``resamples`` draws of the clips -> [B, k]."""
    n = y.shape[0]
    parts = []
    for lo in range(0, resamples, chunk):
        idx = rng.integers(0, n, (min(chunk, resamples - lo), n))
        if macro is None:
            rows = np.arange(len(idx))[:, None] * n
            w = np.bincount((rows + idx).ravel(), minlength=len(idx) * n).reshape(len(idx), n)
            parts.append(weighted_macro_auc(y, scores, w, chunk=chunk))
        else:
            parts.append(np.stack([np.asarray(macro(y[r], scores[:, r])) for r in idx]))
    return np.concatenate(parts)


def bootstrap_macros(y_true: np.ndarray, scores: np.ndarray, resamples: int = RESAMPLES,
                     seed: int = SEED, macro: Macro | None = None) -> np.ndarray:
    """Macro ROC-AUC of every run on shared bootstrap draws of the test clips: y_true
    [n, T], scores [k, n, T] -> [B, k] (the clip draws of :func:`clip_bootstrap`)."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    return _resampled_macros(y, s, resamples, _streams(seed)[0], macro)


# --- intervals --------------------------------------------------------------------------
@dataclass(frozen=True)
class EffectInterval:
    """An effect (arm A minus arm B), its interval and what noise the interval holds.

    ``sd_clips``: the test clips' sampling noise of the effect; ``sd_seed``: the training
    (seed) noise; ``sd_total``: both (for a bootstrap, the s.d. of its samples).
    ``mc_uncertain``: the interval's edge nearest zero is within Monte Carlo error of zero.
    ``samples``: the bootstrap samples of the effect, where there are some (not in
    :meth:`as_dict`)."""

    effect: float
    low: float
    high: float
    sd_clips: float
    sd_seed: float
    sd_total: float
    p_value: float
    mc_uncertain: bool
    method: str
    confidence: float = CONFIDENCE
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    def verdict(self, direction: int = 1) -> str:
        """holds / fails / inconclusive for an effect expected ``direction`` (+1 or -1)."""
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return "not measured"
        if direction * self.low > 0 and direction * self.high > 0:
            return "holds"
        if direction * self.low < 0 and direction * self.high < 0:
            return "fails"
        return "inconclusive"

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("samples")
        return out


class ClipBootstrap(NamedTuple):
    """The effect on all test clips and its bootstrap samples [B] over test clips only."""

    effect: float
    samples: np.ndarray


def clip_bootstrap(y_true: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                   resamples: int = RESAMPLES, seed: int = SEED,
                   macro: Macro | None = None) -> ClipBootstrap:
    """Paired bootstrap over test clips of (mean macro ROC-AUC of A's trials) - (B's).

    y_true [n, T]; scores_a [ka, n, T]; scores_b [kb, n, T] (any ka, kb >= 1). Every resample
    draws the clips once for all trials of both arms. ``macro``: a function (y [n, T],
    scores [k, n, T]) -> [k]; None: macro ROC-AUC through :func:`weighted_macro_auc`, which
    is vectorised over resamples (a custom function is called once per resample). The clip
    draws are those of :func:`two_level_bootstrap` with the same seed."""
    y, sa, sb = _check(y_true, scores_a, scores_b)
    full = (macro or macro_auc)(y, np.concatenate([sa, sb]))
    effect = float(np.mean(full[: len(sa)]) - np.mean(full[len(sa):]))
    rng, _ = _streams(seed)
    m = _resampled_macros(y, np.concatenate([sa, sb]), resamples, rng, macro)
    return ClipBootstrap(effect, m[:, : len(sa)].mean(1) - m[:, len(sa):].mean(1))


def _check(y_true: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    sa, sb = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    if y.ndim != 2 or sa.ndim != 3 or sb.ndim != 3 or sa.shape[1:] != y.shape \
            or sb.shape[1:] != y.shape:
        raise ValueError(f"y_true must be [n, T] and scores [trials, n, T]; got {y.shape}, "
                         f"{sa.shape} and {sb.shape}")
    return y, sa, sb


def two_level_bootstrap(y_true: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                        resamples: int = RESAMPLES, seed: int = SEED,
                        macro: Macro | None = None, paired_trials: bool = False,
                        small_sample_correction: bool = True, net_of_clips: bool = True,
                        confidence: float = CONFIDENCE) -> EffectInterval:
    """The effect with test-clip and seed noise, for arms of >= 2 trials each.

    y_true [n, T]; scores_a [ka, n, T]; scores_b [kb, n, T]. Each resample draws the clips
    (paired across all trials of both arms) and then, on those clips, each arm's trials with
    replacement; the sample is the difference of the drawn trials' mean macro ROC-AUC. Each
    trial's macro ROC-AUC is computed once per clip draw, so the cost is that of the clip
    bootstrap. ``paired_trials``: draw the same trial indices in both arms (when trial i of
    A and of B share a seed and ka == kb). ``small_sample_correction``: stretch each drawn
    mean about the arm's mean by sqrt(k / (k - 1)), so the trial level has the unbiased
    variance s^2 / k. ``net_of_clips``: shrink the trial level to the seed variance net of
    the test clips (as :func:`seed_variance` with ``clip_samples``): the trials of an arm
    also differ on one test set because each model errs on other clips, which the clip
    level already holds. The interval is the percentile interval; ``sd_clips`` the s.d. of
    the same clip draws without the trial level; ``sd_seed`` sqrt(v_a / ka + v_b / kb), v
    the arms' (net) seed variances of one trial."""
    y, sa, sb = _check(y_true, scores_a, scores_b)
    ka, kb = len(sa), len(sb)
    if ka < 2 or kb < 2:
        raise ValueError(f"two_level_bootstrap needs >= 2 trials per arm, got {ka} and {kb}; "
                         "use clip_bootstrap with interval_with_seed_variance")
    if paired_trials and ka != kb:
        raise ValueError(f"paired trials need as many trials in both arms, got {ka} and {kb}")
    full = (macro or macro_auc)(y, np.concatenate([sa, sb]))
    fa, fb = full[:ka], full[ka:]
    effect = float(fa.mean() - fb.mean())
    rng_clips, rng_trials = _streams(seed)
    m = _resampled_macros(y, np.concatenate([sa, sb]), resamples, rng_clips, macro)
    ma, mb = m[:, :ka], m[:, ka:]

    def net(full_arm: np.ndarray, arm: np.ndarray) -> tuple[float, float]:
        """The arm's seed variance of one trial, and the factor on drawn deviations."""
        raw = float(full_arm.var(ddof=1))
        var = max(0.0, raw - _interaction_variance(arm)) if net_of_clips else raw
        k = arm.shape[1]
        stretch = np.sqrt(k / (k - 1)) if small_sample_correction else 1.0
        return var, stretch * (np.sqrt(var / raw) if raw > 0 else 0.0)

    def drawn_mean(arm: np.ndarray, idx: np.ndarray, factor: float) -> np.ndarray:
        mean = arm.mean(1)
        return mean + factor * (np.take_along_axis(arm, idx, axis=1).mean(1) - mean)

    (var_a, factor_a), (var_b, factor_b) = net(fa, ma), net(fb, mb)

    ia = rng_trials.integers(0, ka, (resamples, ka))
    ib = ia if paired_trials else rng_trials.integers(0, kb, (resamples, kb))
    samples = drawn_mean(ma, ia, factor_a) - drawn_mean(mb, ib, factor_b)
    clip_only = ma.mean(1) - mb.mean(1)
    low, high = _percentiles(samples, confidence)
    return EffectInterval(
        effect=effect, low=low, high=high, sd_clips=_sd(clip_only),
        sd_seed=float(np.sqrt(var_a / ka + var_b / kb)),
        sd_total=_sd(samples), p_value=p_value(samples),
        mc_uncertain=edge_near_zero(samples, confidence), method="two-level bootstrap",
        confidence=confidence, samples=samples)


def recommended_method(trials_a: int, trials_b: int) -> str:
    """"two-level bootstrap" when both arms have :data:`MIN_TRIALS_TWO_LEVEL` trials or
    more, else "seed variance" (:func:`clip_bootstrap` + :func:`interval_with_seed_variance`
    with a pooled reference seed variance and each arm's number of trials)."""
    few = min(trials_a, trials_b) < MIN_TRIALS_TWO_LEVEL
    return "seed variance" if few else "two-level bootstrap"


def clip_only_interval(effect: float, clip_samples: np.ndarray,
                       confidence: float = CONFIDENCE) -> EffectInterval:
    """The percentile interval of a clip bootstrap alone: test-clip noise only (no seed
    noise), the claims table's earlier interval; for comparison."""
    s = np.asarray(clip_samples, dtype=np.float64)
    low, high = _percentiles(s, confidence)
    return EffectInterval(float(effect), low, high, _sd(s), 0.0, _sd(s), p_value(s),
                          edge_near_zero(s, confidence), "clip bootstrap", confidence, s)


def interval_with_seed_variance(effect: float, clip_samples: np.ndarray, seed_var_a: float,
                                seed_var_b: float | None = None, trials_a: int = 1,
                                trials_b: int = 1, seed_df: float | None = None,
                                method: str = "convolve", confidence: float = CONFIDENCE,
                                alpha: float | None = None) -> EffectInterval:
    """The effect's interval with the clip noise of ``clip_samples`` and the seed noise of
    arms of ``trials_a`` and ``trials_b`` trials.

    ``clip_samples`` [B]: the clip bootstrap of the effect (:func:`clip_bootstrap`).
    ``seed_var_a`` / ``seed_var_b``: the seed variance of one trial of each arm's model
    family and budget (``seed_var_b`` None: the same as A's); the seed variance of the
    effect is ``seed_var_a / trials_a + seed_var_b / trials_b``. ``seed_df``: the degrees of
    freedom of that seed variance when it is an estimate (:class:`SeedVariance`; for two
    different estimates :func:`satterthwaite_df`); None: taken as known.

    ``method``: "convolve" (default) the exact convolution of the clip samples' distribution
    with the seed noise, normal or, with ``seed_df``, Student t scaled by the seed s.d.:
    its CDF is the mean over clip samples of the seed noise's CDF centred on each, whose
    quantiles give the interval and whose value at zero the p-value (no further random
    draws). "normal": effect +- z * sqrt(clip variance + seed variance), with a t quantile
    at Satterthwaite's degrees of freedom when ``seed_df`` is given. ``alpha`` (default
    1 - confidence): the level of the Monte Carlo check. ``sd_total`` is sqrt(clip variance +
    seed variance) (with Student t seed noise the interval is wider than +- z sd_total)."""
    alpha = 1 - confidence if alpha is None else alpha
    c = np.asarray(clip_samples, dtype=np.float64)
    c = c[np.isfinite(c)]
    seed_var_b = seed_var_a if seed_var_b is None else seed_var_b
    var_seed = seed_var_a / trials_a + seed_var_b / trials_b
    sd_clips, sd_seed = _sd(c), float(np.sqrt(var_seed))
    sd_total = float(np.sqrt(sd_clips ** 2 + var_seed))
    tail = (1 - confidence) / 2
    if len(c) < 2 or not np.isfinite(var_seed):
        return EffectInterval(float(effect), np.nan, np.nan, sd_clips, sd_seed, sd_total, np.nan,
                              False, method, confidence)
    if method == "normal":
        df = np.inf if seed_df is None or var_seed == 0 else sd_total ** 4 * seed_df / var_seed ** 2
        q = stats.t.ppf(1 - tail, df) if np.isfinite(df) else stats.norm.ppf(1 - tail)
        low, high = effect - q * sd_total, effect + q * sd_total
        p = p_value_normal(effect, sd_total, None if not np.isfinite(df) else df)
        # Monte Carlo error of the edge through that of the clip s.d.
        se_edge = q * sd_clips ** 2 / sd_total / np.sqrt(2 * (len(c) - 1))
        edge = min(abs(low), abs(high))
        uncertain = bool(edge < 2 * se_edge)
        return EffectInterval(float(effect), float(low), float(high), sd_clips, sd_seed,
                              sd_total, p, uncertain, "clip bootstrap + seed variance (normal)",
                              confidence, c)
    if method != "convolve":
        raise ValueError(f"method must be 'convolve' or 'normal', not {method!r}")
    if var_seed == 0:
        return clip_only_interval(effect, c, confidence)
    noise = stats.norm if seed_df is None else stats.t(seed_df)

    def cdf(x: float | np.ndarray) -> np.ndarray:
        return noise.cdf((np.asarray(x, dtype=np.float64)[..., None] - c) / sd_seed)

    def quantile(level: float) -> float:
        lo, hi = c.min() - 1.0, c.max() + 1.0  # AUC differences lie in [-1, 1]
        while cdf(lo).mean() > level:
            lo -= 1.0
        while cdf(hi).mean() < level:
            hi += 1.0
        return float(optimize.brentq(lambda x: cdf(x).mean() - level, lo, hi, xtol=1e-9))

    at_zero = cdf(0.0)  # [B]: each clip sample's chance to end below zero
    below = float(at_zero.mean())
    p = min(1.0, 2 * min(below, 1 - below))
    se_p = 2 * float(at_zero.std(ddof=1)) / np.sqrt(len(c))
    label = "clip bootstrap + seed " + ("variance (normal)" if seed_df is None
                                        else f"variance (t, {seed_df:g} df)")
    return EffectInterval(float(effect), quantile(tail), quantile(1 - tail), sd_clips, sd_seed,
                          sd_total, p, bool(abs(p - alpha) < 2 * se_p),
                          label + ", convolved", confidence, c)


def _percentiles(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not len(s):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2
    return float(np.quantile(s, tail)), float(np.quantile(s, 1 - tail))


def _sd(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(x.std(ddof=1)) if len(x) > 1 else float("nan")


# --- seed variance ----------------------------------------------------------------------
class SeedVariance(NamedTuple):
    """An unbiased estimate of the seed variance of one trial's macro ROC-AUC, and its
    degrees of freedom."""

    var: float
    df: int


def seed_variance(scores_by_seed: Sequence[float] | np.ndarray,
                  clip_samples: np.ndarray | None = None) -> SeedVariance:
    """The seed variance from the test macro ROC-AUC [s] of ``s`` seeds of one reference
    configuration (same data, budget and test set): the unbiased variance, s - 1 df.

    ``clip_samples`` [B, s]: those seeds' macro ROC-AUC on shared bootstrap draws of the test
    clips (:func:`bootstrap_macros`). With them the variance is *net of the test clips*: on
    one test set two seeds also differ because each model errs on other clips, a part the
    clip bootstrap of a comparison already holds. That part is half the clip variance of
    the difference of two seeds, averaged over pairs, which equals the mean over resamples
    of the variance across seeds of the resample-centred samples; it is subtracted (floored
    at zero) so that the two noise sources are not counted twice."""
    x = np.asarray(scores_by_seed, dtype=np.float64)
    keep = np.isfinite(x)
    x = x[keep]
    if len(x) < 2:
        return SeedVariance(float("nan"), 0)
    var = float(x.var(ddof=1))
    if clip_samples is not None:
        var = max(0.0, var - _interaction_variance(np.asarray(clip_samples)[:, keep]))
    return SeedVariance(var, len(x) - 1)


def _interaction_variance(samples: np.ndarray) -> float:
    """Half the clip-bootstrap variance of the difference of two trials, averaged over the
    pairs, from their macro ROC-AUC on shared clip draws [B, k]: the mean over resamples of
    the variance across trials of the resample-centred samples."""
    m = np.asarray(samples, dtype=np.float64)
    m = m[np.isfinite(m).all(1)]
    if m.shape[0] < 2 or m.shape[1] < 2:
        return 0.0
    return float((m - m.mean(0)).var(axis=1, ddof=1).mean())


def pool_seed_variances(estimates: Sequence[SeedVariance]) -> SeedVariance:
    """Pooled seed variance of several reference configurations (assumed equally noisy):
    the df-weighted mean of their variances, with the sum of their df."""
    usable = [e for e in estimates if e.df > 0 and np.isfinite(e.var)]
    df = sum(e.df for e in usable)
    if not df:
        return SeedVariance(float("nan"), 0)
    return SeedVariance(float(sum(e.df * e.var for e in usable) / df), df)


def satterthwaite_df(variances: Sequence[float], dfs: Sequence[float]) -> float:
    """Welch-Satterthwaite degrees of freedom of the sum of independent variance estimates
    (each already divided by its trials): (sum v)^2 / sum(v^2 / df); inf df: known."""
    v = np.asarray(variances, dtype=np.float64)
    d = np.asarray(dfs, dtype=np.float64)
    denominator = float(np.sum(np.where(np.isinf(d), 0.0, v ** 2 / d)))
    return float(v.sum() ** 2 / denominator) if denominator > 0 else float("inf")


# --- p-values and Monte Carlo error -----------------------------------------------------
def p_value(samples: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "the effect is zero": twice the share of samples on the
    far side of zero, counted as (count + 1) / (B + 1), so never below 2 / (B + 1) (Holm over
    m verdicts at alpha needs B > 2m / alpha to decide anything). It is below alpha exactly
    when the (1 - alpha) percentile interval excludes zero."""
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not len(s):
        return float("nan")
    far = min(int((s <= 0).sum()), int((s >= 0).sum()))
    return float(min(1.0, 2 * (far + 1) / (len(s) + 1)))


def p_value_normal(effect: float, sd: float, df: float | None = None) -> float:
    """Two-sided p-value of "the effect is zero" for an effect with standard error ``sd``
    (normal; Student t with ``df`` degrees of freedom)."""
    if not (np.isfinite(effect) and np.isfinite(sd)) or sd <= 0:
        return float("nan")
    z = abs(effect) / sd
    return float(2 * (stats.norm.sf(z) if df is None else stats.t.sf(z, df)))


def quantile_mc_interval(samples: np.ndarray, q: float, confidence: float = CONFIDENCE
                         ) -> tuple[float, float]:
    """Monte Carlo interval of the ``q`` quantile of the distribution the ``samples`` [B]
    were drawn from: the binomial order-statistic interval (the ranks j < k with
    P(j <= Binomial(B, q) < k) >= confidence), distribution-free."""
    s = np.sort(np.asarray(samples, dtype=np.float64)[np.isfinite(samples)])
    b = len(s)
    if not b:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2
    j = int(stats.binom.ppf(tail, b, q))
    k = int(stats.binom.ppf(1 - tail, b, q))
    return float(s[max(j - 1, 0)]), float(s[min(k, b - 1)])


def edge_near_zero(samples: np.ndarray, confidence: float = CONFIDENCE,
                   mc_confidence: float = 0.95) -> bool:
    """Whether zero lies inside the Monte Carlo interval of either edge of the percentile
    interval: another bootstrap seed might then give the other verdict."""
    tail = (1 - confidence) / 2
    for q in (tail, 1 - tail):
        lo, hi = quantile_mc_interval(samples, q, mc_confidence)
        if lo <= 0 <= hi:
            return True
    return False


# --- multiplicity -----------------------------------------------------------------------
def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values [m], in the input's order: the i-th smallest p is
    multiplied by (m - i + 1), then made non-decreasing along that order and capped at 1.
    NaN entries (claims not judged) are not in the family and stay NaN. A verdict is
    decisive at family-wise level alpha when its adjusted p-value is below alpha."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def verdict_from_p(effect: float, p: float, direction: int = 1, alpha: float = ALPHA) -> str:
    """holds / fails / inconclusive from an effect and its (adjusted) p-value."""
    if not (np.isfinite(effect) and np.isfinite(p)):
        return "not measured"
    if p >= alpha or effect == 0:
        return "inconclusive"
    return "holds" if np.sign(effect) == np.sign(direction) else "fails"


def adjusted_verdicts(effects: Sequence[float], pvalues: Sequence[float],
                      directions: Sequence[int] | None = None, alpha: float = ALPHA
                      ) -> list[str]:
    """The verdicts of a family of claims after Holm's adjustment of their p-values (NaN:
    not judged, so not in the family). ``directions``: +1/-1 per claim (default +1)."""
    adjusted = holm(pvalues)
    directions = [1] * len(adjusted) if directions is None else directions
    return [verdict_from_p(e, p, d, alpha)
            for e, p, d in zip(effects, adjusted, directions, strict=True)]


def expected_false_verdicts(n_verdicts: int, alpha: float = ALPHA,
                            n_decisive: int | None = None) -> dict[str, float]:
    """How many decisive verdicts (holds or fails) chance alone would give among
    ``n_verdicts`` unadjusted verdicts, if no claim had any effect (each is then decisive
    with probability ``alpha``): ``expected`` n * alpha, ``p_any`` the chance of at least
    one, and, given the table's ``n_decisive``, ``p_as_many`` the chance of at least that
    many (both as if the verdicts were independent)."""
    out = {"n_verdicts": float(n_verdicts), "expected": n_verdicts * alpha,
           "p_any": 1 - (1 - alpha) ** n_verdicts}
    if n_decisive is not None:
        out["n_decisive"] = float(n_decisive)
        out["p_as_many"] = float(stats.binom.sf(n_decisive - 1, n_verdicts, alpha))
    return out


# --- power ------------------------------------------------------------------------------
def minimal_detectable_effect(sd_total: float, alpha: float = ALPHA, power: float = 0.8
                              ) -> float:
    """The smallest true effect that a two-sided test at ``alpha`` decides with probability
    ``power``, for an effect estimated with s.d. ``sd_total``: (z_{1-alpha/2} + z_power) *
    sd (2.80 sd at the defaults)."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * sd_total)


class Projection(NamedTuple):
    """The s.d. of an effect under another test set and number of trials."""

    clip_sd: float
    seed_sd: float
    total_sd: float


def project_sd(clip_var: float, n_clips_now: int, n_clips_then: int, seed_var: float,
               trials_now: int, trials_then: int) -> Projection:
    """The s.d. of an effect measured with ``n_clips_now`` test clips and ``trials_now``
    trials per arm, projected to ``n_clips_then`` clips (e.g. :data:`MTAT_TEST_CLIPS`) and
    ``trials_then`` trials per arm.

    ``clip_var`` and ``seed_var`` are the effect's variance components now (the clip
    bootstrap's variance; the seed variance of the effect, e.g. seed_var_a / trials_a +
    seed_var_b / trials_b). Assumes the clip variance of a macro ROC-AUC scales as 1 / n
    (as for a mean over clips; AUC is a U-statistic, whose variance also falls as 1 / n, as
    long as each tag keeps its share of positives) and the seed variance as 1 / trials."""
    clip = clip_var * n_clips_now / n_clips_then
    seed = seed_var * trials_now / trials_then
    return Projection(float(np.sqrt(clip)), float(np.sqrt(seed)), float(np.sqrt(clip + seed)))


def too_small_to_decide(reported_effect: float, projected_mde: float) -> bool:
    """Whether the report's own effect is below the smallest effect that the projected
    noise lets a test decide (with the power that ``projected_mde`` was computed for)."""
    return bool(abs(reported_effect) < projected_mde)


# --- Figure 3 ---------------------------------------------------------------------------
def peak_drop_contrast(val_curves: Sequence[Sequence[float]] | np.ndarray, peak_epoch: int,
                       window: int = 1, last: int = 3, confidence: float = CONFIDENCE
                       ) -> dict:
    """Pre-specified contrast for "validation ROC-AUC peaks and then falls" (Figure 3).

    ``val_curves``: validation ROC-AUC per epoch, [trials, epochs] (or one sequence per
    trial, of any length; NaNs dropped). ``peak_epoch``: the report's peak, as a 0-based
    index into a curve (epoch 1 is index 0). Per trial: the mean over epochs ``peak_epoch -
    window .. peak_epoch + window`` minus the mean of the ``last`` epochs. Positive when the
    curve fell after the report's peak, negative when it kept rising (unlike "maximum minus
    last", which is never negative). A trial whose curve is too short for the window to end
    before its last epochs begin gives NaN and is left out.

    Returns ``effect`` (mean over trials), ``low`` / ``high`` (t interval over trials; NaN
    with fewer than two), ``p`` (the two-sided one-sample t test of a zero contrast, the
    interval's test, so that Holm's adjustment counts this claim too; NaN with fewer than two
    trials), ``sd`` (over trials), ``per_trial`` [trials], ``n_trials`` (used) and
    ``note``."""
    if window < 0 or last < 1:
        raise ValueError("window must be >= 0 and last >= 1")
    per_trial = []
    for curve in val_curves:
        c = np.asarray(curve, dtype=np.float64)
        c = c[np.isfinite(c)]
        start, stop = peak_epoch - window, peak_epoch + window + 1
        if start < 0 or stop > len(c) - last:
            per_trial.append(np.nan)
        else:
            per_trial.append(float(c[start:stop].mean() - c[-last:].mean()))
    values = np.asarray(per_trial)
    used = values[np.isfinite(values)]
    out = {"effect": float(used.mean()) if len(used) else float("nan"), "low": float("nan"),
           "high": float("nan"), "p": float("nan"), "sd": _sd(used), "per_trial": values,
           "n_trials": int(len(used)), "note": ""}
    if len(used) < len(values):
        out["note"] = (f"{len(values) - len(used)} trial(s) too short for epochs "
                       f"{start + 1}-{stop} and {last} later ones")
    if len(used) >= 2:
        se = out["sd"] / np.sqrt(len(used))
        half = stats.t.ppf(1 - (1 - confidence) / 2, len(used) - 1) * se
        out["low"], out["high"] = out["effect"] - half, out["effect"] + half
        if se > 0:
            out["p"] = float(2 * stats.t.sf(abs(out["effect"]) / se, len(used) - 1))
        else:  # identical trials: the contrast is exact
            out["p"] = 1.0 if out["effect"] == 0 else 0.0
    elif len(used) == 1:
        out["note"] = out["note"] or "one trial: no interval without a second"
    return out
