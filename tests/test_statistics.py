"""mtlib.report.statistics on simulated comparisons whose truth is known.

The simulation: ``N_CLIPS`` test clips, ``N_TAGS`` tags; each clip-tag has a latent
strength ``z`` and a label from a logistic model of it. A trained model (one trial) of
quality ``q`` scores ``(q + d) z + e``: ``d ~ N(0, SEED_SD)`` is its seed's quality and
``e`` its own errors on each clip. Two arms of the same quality differ by seed and test-clip
noise only; about as much of each as the quick profile measured (s.d. ~0.01 of a macro
ROC-AUC across seeds on 250 test clips).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mtlib.report import statistics as st

N_CLIPS, N_TAGS = 250, 10
SEED_SD, NOISE = 0.08, 1.0
RESAMPLES = 300
NULL_REPS, POWER_REPS = 250, 100
POWER_SHIFT = 0.65  # quality shift of the better arm in the power simulation


def _test_set(rng: np.random.Generator, n: int = N_CLIPS) -> tuple[np.ndarray, np.ndarray]:
    z = rng.normal(size=(n, N_TAGS))
    base = np.linspace(-2.0, -0.5, N_TAGS)  # tags from ~15 % to ~40 % positives
    y = (rng.random((n, N_TAGS)) < 1 / (1 + np.exp(-(base + 2.0 * z)))).astype(np.int8)
    return z, y


def _trials(rng: np.random.Generator, z: np.ndarray, k: int, quality: float = 1.0
            ) -> np.ndarray:
    q = quality + SEED_SD * rng.normal(size=(k, 1, 1))
    return q * z[None] + NOISE * rng.normal(size=(k,) + z.shape)


def _bound(rate: float, n: int, k: float) -> float:
    return rate + k * np.sqrt(rate * (1 - rate) / n)


@pytest.fixture(scope="module")
def reference() -> st.SeedVariance:
    """The seed variance, net of the test clips, pooled over three reference configurations
    of 20 seeds, each on its own test set."""
    estimates = []
    for seed in (100, 101, 102):
        rng = np.random.default_rng(seed)
        z, y = _test_set(rng)
        ref = _trials(rng, z, 20)
        estimates.append(st.seed_variance(st.macro_auc(y, ref),
                                          st.bootstrap_macros(y, ref, RESAMPLES)))
    return st.pool_seed_variances(estimates)


def _simulate(reference: st.SeedVariance, reps: int, shift: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    effect, old, new, sd_total = [], [], [], []
    for i in range(reps):
        z, y = _test_set(rng)
        a, b = _trials(rng, z, 1, 1.0 + shift), _trials(rng, z, 1)
        boot = st.clip_bootstrap(y, a, b, RESAMPLES, seed=i)
        new_interval = st.interval_with_seed_variance(boot.effect, boot.samples, reference.var,
                                                      seed_df=reference.df)
        effect.append(boot.effect)
        old.append(st.clip_only_interval(boot.effect, boot.samples).verdict())
        new.append(new_interval.verdict())
        sd_total.append(new_interval.sd_total)
    return {"effect": np.array(effect), "old": np.array(old), "new": np.array(new),
            "sd_total": np.array(sd_total)}


@pytest.fixture(scope="module")
def null(reference: st.SeedVariance) -> dict:
    return _simulate(reference, NULL_REPS, 0.0, seed=1)


def test_weighted_macro_auc_equals_the_auc_of_resampled_clips():
    rng = np.random.default_rng(0)
    z, y = _test_set(rng, 60)
    scores = _trials(rng, z, 3)
    scores[0, :10, 0] = np.round(scores[0, :10, 0])  # ties
    idx = rng.integers(0, 60, (7, 60))
    weights = np.stack([np.bincount(r, minlength=60) for r in idx])
    exact = np.stack([st.macro_auc(y[r], scores[:, r]) for r in idx])
    np.testing.assert_allclose(st.weighted_macro_auc(y, scores, weights, chunk=3), exact,
                               atol=1e-12)
    # a custom macro function sees the same clip draws as the vectorised default
    fast = st.clip_bootstrap(y, scores[:1], scores[1:], 20, seed=3)
    slow = st.clip_bootstrap(y, scores[:1], scores[1:], 20, seed=3, macro=st.macro_auc)
    np.testing.assert_allclose(fast.samples, slow.samples, atol=1e-12)
    assert fast.effect == pytest.approx(slow.effect)


def test_null_comparisons_decide_at_the_nominal_rate_with_seed_noise(null):
    false_new = np.mean(null["new"] != "inconclusive")
    false_old = np.mean(null["old"] != "inconclusive")
    assert false_new <= _bound(0.05, NULL_REPS, 2), false_new
    # the clip-only interval (the claims table's earlier one) decides far too often
    assert false_old >= _bound(0.05, NULL_REPS, 4), false_old
    # the interval's total s.d. is the true spread of the effect across seeds and test sets
    truth = null["effect"].std(ddof=1)
    assert np.mean(null["sd_total"]) == pytest.approx(truth, rel=0.2)


def test_a_real_effect_of_three_sd_holds(reference, null):
    power = _simulate(reference, POWER_REPS, POWER_SHIFT, seed=2)
    size = power["effect"].mean() / null["effect"].std(ddof=1)
    assert size >= 2.8, size
    assert np.mean(power["new"] == "holds") >= 0.8
    assert not np.any(power["new"] == "fails")


def test_two_level_bootstrap():
    rng = np.random.default_rng(4)
    z, y = _test_set(rng, 150)
    a, b = _trials(rng, z, 5), _trials(rng, z, 5)
    out = st.two_level_bootstrap(y, a, b, 400, seed=1)
    assert out.low < out.effect < out.high
    assert out.sd_total == pytest.approx(np.hypot(out.sd_clips, out.sd_seed), rel=0.3)
    assert out.sd_seed > 0 and out.method == "two-level bootstrap"
    again = st.two_level_bootstrap(y, a, b, 400, seed=1)
    np.testing.assert_array_equal(out.samples, again.samples)
    # the clip level is the clip bootstrap with the same seed
    clips = st.clip_bootstrap(y, a, b, 400, seed=1)
    assert out.sd_clips == pytest.approx(clips.samples.std(ddof=1))
    same = st.two_level_bootstrap(y, a, a, 200, seed=1, paired_trials=True)
    assert same.effect == 0 and np.all(same.samples == 0)
    with pytest.raises(ValueError):
        st.two_level_bootstrap(y, a[:1], b, 10)
    assert st.recommended_method(5, 5) == "two-level bootstrap"
    assert st.recommended_method(1, 5) == "seed variance"


def test_seed_variance_and_pooling():
    first = st.seed_variance([0.774, 0.766, 0.755, 0.754])
    assert first.df == 3
    assert first.var == pytest.approx(np.var([0.774, 0.766, 0.755, 0.754], ddof=1))
    assert np.sqrt(first.var) == pytest.approx(0.0095, abs=5e-4)
    second = st.seed_variance([0.760, 0.748, 0.733, 0.749])
    pooled = st.pool_seed_variances([first, second, st.seed_variance([0.7])])
    assert pooled.df == 6
    assert pooled.var == pytest.approx((first.var + second.var) / 2)
    # net of the test clips: half the clip variance of a difference between two seeds
    samples = np.array([[0.0, 0.02], [0.02, 0.0]])  # centred: +-0.01 -> variance 2e-4
    assert st.seed_variance([0.70, 0.72], samples).var == pytest.approx(2e-4 - 2e-4 + 0.0)
    assert st.seed_variance([0.70, 0.74], samples).var == pytest.approx(8e-4 - 2e-4)
    assert st.seed_variance([0.70, 0.70], samples).var == 0.0  # floored
    assert st.satterthwaite_df([1.0, 1.0], [3, 3]) == pytest.approx(6.0)
    assert st.satterthwaite_df([1.0], [np.inf]) == np.inf


def test_interval_with_seed_variance():
    rng = np.random.default_rng(0)
    clips = 0.01 + 0.01 * rng.normal(size=4000)
    known = st.interval_with_seed_variance(0.01, clips, 1e-4 / 2, 1e-4 / 2)
    assert known.sd_seed == pytest.approx(0.01)
    assert known.sd_total == pytest.approx(np.hypot(clips.std(ddof=1), 0.01))
    # the convolution of two normals is the normal of the summed variances
    assert known.low == pytest.approx(0.01 - 1.96 * known.sd_total, abs=1e-3)
    assert known.high == pytest.approx(0.01 + 1.96 * known.sd_total, abs=1e-3)
    normal = st.interval_with_seed_variance(0.01, clips, 1e-4 / 2, method="normal")
    assert normal.low == pytest.approx(0.01 - 1.959964 * normal.sd_total)
    assert normal.p_value == pytest.approx(known.p_value, abs=0.01)
    # an estimated seed variance (Student t) widens the interval; more trials narrow it
    estimated = st.interval_with_seed_variance(0.01, clips, 1e-4 / 2, seed_df=3)
    assert estimated.high - estimated.low > known.high - known.low
    five = st.interval_with_seed_variance(0.01, clips, 1e-4 / 2, trials_a=5, trials_b=5)
    assert five.sd_seed == pytest.approx(0.01 / np.sqrt(5))
    # no seed variance: the clip-only interval
    none = st.interval_with_seed_variance(0.01, clips, 0.0)
    old = st.clip_only_interval(0.01, clips)
    assert (none.low, none.high) == (old.low, old.high)
    assert old.verdict() == "inconclusive" and known.verdict(-1) == "inconclusive"
    assert st.interval_with_seed_variance(0.05, clips + 0.04, 1e-6).verdict() == "holds"
    assert st.interval_with_seed_variance(0.05, clips + 0.04, 1e-6).verdict(-1) == "fails"


def test_determinism():
    rng = np.random.default_rng(0)
    z, y = _test_set(rng, 80)
    a, b = _trials(rng, z, 1), _trials(rng, z, 1)
    first = st.clip_bootstrap(y, a, b, 200, seed=7)
    second = st.clip_bootstrap(y, a, b, 200, seed=7)
    np.testing.assert_array_equal(first.samples, second.samples)
    assert not np.array_equal(first.samples, st.clip_bootstrap(y, a, b, 200, seed=8).samples)
    one = st.interval_with_seed_variance(first.effect, first.samples, 1e-4, seed_df=6)
    two = st.interval_with_seed_variance(second.effect, second.samples, 1e-4, seed_df=6)
    assert one == two


def test_p_values_and_monte_carlo_error():
    assert st.p_value_normal(1.959964, 1.0) == pytest.approx(0.05, abs=1e-6)
    assert st.p_value_normal(2.0, 1.0, df=5) > st.p_value_normal(2.0, 1.0)
    samples = np.random.default_rng(0).normal(3.0, 1.0, 2000)
    assert st.p_value(samples) == pytest.approx(
        2 * (np.sum(samples <= 0) + 1) / 2001)
    assert st.p_value(-samples) == st.p_value(samples)
    lo, hi = st.quantile_mc_interval(samples, 0.025)
    assert lo < 3.0 - 1.959964 < hi and hi - lo < 0.3
    assert not st.edge_near_zero(samples)
    # an interval edge at zero: another bootstrap seed could flip the verdict
    assert st.edge_near_zero(samples - np.quantile(samples, 0.025))
    low = st.interval_with_seed_variance(3.0, samples, 1.0).low
    at_edge = st.interval_with_seed_variance(3.0 - low, samples - low, 1.0)
    assert at_edge.low == pytest.approx(0.0, abs=1e-8) and at_edge.mc_uncertain
    assert not st.interval_with_seed_variance(3.0, samples, 1e-4).mc_uncertain


def test_holm():
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(st.holm(p), [0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(0)
    raw = rng.random(30) ** 3
    adjusted = st.holm(raw)
    assert np.all(adjusted >= raw) and np.all(adjusted <= 1)
    order = np.argsort(raw)
    assert np.all(np.diff(adjusted[order]) >= 0)
    # claims not judged are out of the family
    with_nan = st.holm([0.01, np.nan, 0.04])
    assert np.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2]], [0.02, 0.04])
    # family of four: 0.001 * 4, 0.002 * 3, 0.04 * 2 = 0.08, 0.5
    assert st.adjusted_verdicts([0.02, -0.03, 0.01, 0.0, 0.01],
                                [0.001, 0.002, 0.04, 0.5, np.nan]) == [
        "holds", "fails", "inconclusive", "inconclusive", "not measured"]
    assert st.adjusted_verdicts([0.01], [0.04]) == ["holds"]
    assert st.verdict_from_p(-0.02, 0.001, direction=-1) == "holds"


def test_expected_false_verdicts():
    out = st.expected_false_verdicts(20, 0.05, n_decisive=3)
    assert out["expected"] == pytest.approx(1.0)
    assert out["p_any"] == pytest.approx(1 - 0.95 ** 20)
    assert out["p_as_many"] == pytest.approx(0.07548, abs=1e-4)  # P(Binomial(20, .05) >= 3)


def test_power_and_projection():
    assert st.minimal_detectable_effect(0.01) == pytest.approx(0.028016, abs=1e-5)
    assert st.minimal_detectable_effect(0.01, power=0.5) == pytest.approx(0.0195996, abs=1e-6)
    now = st.project_sd(1e-4, 250, 250, 2e-4, 1, 1)
    assert now.total_sd == pytest.approx(np.sqrt(3e-4))
    then = st.project_sd(1e-4, 250, st.MTAT_TEST_CLIPS, 2e-4, 1, 5)
    assert then.clip_sd == pytest.approx(np.sqrt(1e-4 * 250 / 4332))
    assert then.seed_sd == pytest.approx(np.sqrt(4e-5))
    assert then.total_sd == pytest.approx(0.0067656, abs=1e-6)
    mde = st.minimal_detectable_effect(then.total_sd)
    assert mde == pytest.approx(0.018955, abs=1e-5)
    assert st.too_small_to_decide(0.012, mde) and st.too_small_to_decide(-0.012, mde)
    assert not st.too_small_to_decide(0.02, mde)


def test_peak_drop_contrast():
    epochs = np.arange(20)
    rng = np.random.default_rng(0)
    rising = 0.8 - 0.2 * np.exp(-epochs / 6) + 0.002 * rng.normal(size=(3, 20))
    out = st.peak_drop_contrast(rising, peak_epoch=8)
    assert out["effect"] < 0 and out["high"] < 0 and out["n_trials"] == 3
    # its p is the one-sample t test of the per-trial contrasts, which the interval inverts
    assert out["p"] == pytest.approx(stats.ttest_1samp(out["per_trial"], 0.0).pvalue)
    assert out["p"] < 0.05
    peaked = 0.8 - 0.0008 * (epochs - 8) ** 2 + 0.002 * rng.normal(size=(3, 20))
    out = st.peak_drop_contrast(peaked, peak_epoch=8)
    assert out["effect"] > 0 and out["low"] > 0
    flat = 0.75 + 0.005 * rng.normal(size=(6, 20))
    out = st.peak_drop_contrast(flat, peak_epoch=8)
    assert out["low"] < 0 < out["high"] and out["p"] > 0.05
    # hand-checked: window 7..9 mean 3, last three mean 1 -> 2
    curve = [0, 0, 0, 0, 0, 0, 0, 2, 3, 4, 1, 1, 1]
    one = st.peak_drop_contrast([curve], peak_epoch=8)
    assert one["effect"] == pytest.approx(2.0) and np.isnan(one["low"]) and np.isnan(one["p"])
    short = st.peak_drop_contrast([curve, curve[:9]], peak_epoch=8)
    assert short["n_trials"] == 1 and np.isnan(short["per_trial"][1]) and short["note"]
