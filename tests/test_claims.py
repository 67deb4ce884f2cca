"""Claims and verdicts: intervals with clip and seed noise, every statistic, the floor,
Holm's adjustment and the projection to MTAT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.paper.claims import CLAIMS, Claim
from mtlib.report import plan
from mtlib.report import verdicts as claims
from mtlib.report.profiles import load_profile
from mtlib.training.rundir import RunResult

TAGS = ["guitar", "piano", "rock", "drums"]


class Store:
    """A run store in memory."""

    def __init__(self, runs):
        self.runs = {r.run_id: r for r in runs}

    def load(self, run_id):
        return self.runs.get(run_id)


def run(name: str, skill: float, seed: int, val: float = 0.8, n: int = 200,
        per_tag_skill: dict | None = None) -> RunResult:
    """A run whose test scores follow the labels with ``skill`` (0: chance, large: perfect)."""
    rng = np.random.default_rng(0)  # the same test labels for every run
    y = (rng.random((n, len(TAGS))) < 0.3).astype(np.uint8)
    noise = np.random.default_rng(seed + 100 * len(name)).normal(size=y.shape)
    skills = np.array([(per_tag_skill or {}).get(t, skill) for t in TAGS])
    scores = (y * skills + noise).astype(np.float32)
    cfg = RunConfig(dataset=name, seed=seed)
    metrics = {"val_roc_auc": val, "test_roc_auc": 0.0,
               "per_tag": {t: {"n_train_pos": 100 - 20 * i} for i, t in enumerate(TAGS)}}
    history = pd.DataFrame({"val_roc_auc": [0.6, 0.8, 0.7]})
    return RunResult(f"{name}{seed}", cfg, None, metrics, history,
                     _predictions=(np.arange(n), y, scores, TAGS))


def arms_of(**groups):
    """Arms ``future.shallow.<name>`` by key, and a store of their runs."""
    runs = [r for rs in groups.values() for r in rs]
    return {f"future.shallow.{k}": [r.run_id for r in rs] for k, rs in groups.items()}, Store(runs)


def claim(a="a", b="b", kind="arms"):
    return claims.Claim("test", "-", "a beats b", Arm("future", "shallow", a),
                        Arm("future", "shallow", b), kind=kind)


def test_a_clear_effect_holds_and_its_reverse_fails():
    good = [run("good", 2.0, s) for s in range(2)]
    weak = [run("weak", 0.3, s) for s in range(2)]
    arms, store = arms_of(a=good, b=weak)
    row = claims.judge(claim(), arms, store, resamples=200)
    assert row["verdict"] == "holds" and row["low"] > 0 and row["effect"] > 0.2
    assert row["n_clips"] == 200 and (row["trials_a"], row["trials_b"]) == (2, 2)
    # Without notebook 10's seed variance the row says its interval holds clip noise only.
    assert row["noise"].startswith("clips only") and row["sd_seed"] == 0
    assert row["mde"] == pytest.approx(2.8 * row["sd_total"], rel=0.01)
    assert claims.judge(claim("b", "a"), arms, store, resamples=200)["verdict"] == "fails"


def test_no_difference_is_inconclusive_never_a_yes():
    a = [run("same", 1.0, s) for s in range(2)]
    b = [run("other", 1.0, s + 7) for s in range(2)]  # same skill, other noise
    arms, store = arms_of(a=a, b=b)
    row = claims.judge(claim(), arms, store, resamples=200)
    assert row["low"] < 0 < row["high"] and row["verdict"] == "inconclusive"


def seed_noise_of(runs, var=None):
    """A :class:`FamilyNoise` whose shallow family's reference seeds are ``runs``."""
    from mtlib.report import statistics as st

    noise = claims.FamilyNoise()
    _, y, s, _ = claims._aligned(runs)
    noise.variance["shallow"] = (st.SeedVariance(var, len(runs) - 1) if var is not None else
                                 st.seed_variance(st.macro_auc(y, s),
                                                  st.bootstrap_macros(y, s, 200)))
    noise.references["shallow"], noise.source["shallow"] = runs, f"{len(runs)} test seeds"
    return noise


def test_the_seed_term_widens_a_one_trial_interval_and_says_where_it_came_from():
    a, b = [run("a", 1.2, 0)], [run("b", 1.0, 1)]
    arms, store = arms_of(a=a, b=b)
    clips_only = claims.judge(claim(), arms, store, resamples=300)
    noise = seed_noise_of([run("ref", 1.0, s) for s in range(4)], var=0.02 ** 2)
    both = claims.judge(claim(), arms, store, resamples=300, noise=noise)
    assert both["effect"] == clips_only["effect"]
    assert both["sd_seed"] == pytest.approx(0.02 * np.sqrt(2))  # one seed per arm, twice
    assert both["sd_total"] > clips_only["sd_total"]
    assert both["high"] - both["low"] > clips_only["high"] - clips_only["low"]
    assert "4 test seeds" in both["noise"]


def test_below_the_floor_only_where_the_reports_arm_learnt():
    good = [run("good", 2.0, 0)]
    chance = [run("chance", 0.0, 0, val=0.55)]
    arms, store = arms_of(a=good, b=chance)
    row = claims.judge(claim(), arms, store, resamples=50)
    assert row["verdict"] == "not trained enough" and row["verdict_interval"] == "holds"
    assert "future.shallow.b 0.55, below the floor 0.65" in row["note"]
    # The report's no-normalisation arm scored 0.53: an arm of ours at chance replicates it.
    none = Claim("t", "V", "min-max beats none", Arm("future", "shallow", "a"),
                 Arm("future", "shallow", "b"),
                 ("search.input_norm.minmax", "search.input_norm.none"))
    judged = claims.judge(none, arms, store, resamples=50)
    assert judged["verdict"] == "holds" and "floor" not in judged["note"]
    assert judged["report_difference"] == pytest.approx(0.72 - 0.53)
    assert judged["report_split"] == "validation"


def test_a_diverged_arm_is_marked_never_scored():
    good = [run("good", 2.0, 0)]
    blown = run("blown", 0.0, 0)
    blown.metrics = {"diverged": True, "diverged_epoch": 3, "last_finite_loss": 0.6931,
                     "val_roc_auc": float("nan"), "test_roc_auc": float("nan")}
    arms, store = arms_of(a=good, b=[blown])
    row = claims.judge(claim(), arms, store, resamples=50)
    assert row["verdict"] == "diverged" and np.isnan(row["effect"])
    assert "future.shallow.b diverged in epoch 3 (last finite loss 0.6931)" in row["note"]


def test_a_matched_capacity_claim_states_both_parameter_counts():
    a, b = run("harmonic", 2.0, 0), run("wide", 1.0, 0)
    a.metrics["n_params"], b.metrics["n_params"] = 204_200, 204_884
    arms, store = arms_of(a=[a], b=[b])
    matched = Claim("t", "IX", "a beats b", Arm("future", "shallow", "a"),
                    Arm("future", "shallow", "b"), capacity=True)
    note = claims.judge(matched, arms, store, resamples=50)["note"]
    assert "parameters: future.shallow.a 204,200, future.shallow.b 204,884" in note
    assert "parameters" not in claims.judge(claim(), arms, store, resamples=50)["note"]
    # Section IX's harmonic claims are the matched ones
    harmonic = [c for c in CLAIMS if c.key.startswith("future.harmonic")]
    assert harmonic and all(c.capacity and c.b.variant == "raw_wide" for c in harmonic)


def test_a_missing_arm_is_not_measured():
    arms, store = arms_of(a=[run("good", 2.0, 0)])
    row = claims.judge(claim(), arms, store, resamples=50)
    assert row["verdict"] == "not measured" and np.isnan(row["effect"])
    assert row["note"] == "this profile trains no such arm"


def test_arms_with_identical_predictions_say_why():
    a = run("same", 1.0, 0)
    twin = RunResult("twin0", a.config.replace(plateau=True), None, a.metrics, a.history,
                     _predictions=a.predictions())
    arms, store = arms_of(a=[twin], b=[a])
    row = claims.judge(claim(), arms, store, resamples=50)
    assert row["verdict"] == "inconclusive" and "identical test predictions" in row["note"]
    assert row["effect"] == 0 and row["low"] == row["high"] == 0
    # Arms that are one run (RunConfig.identity) say so.
    arms, store = arms_of(a=[a], b=[a])
    row = claims.judge(claim(), arms, store, resamples=50)
    assert row["verdict"] == "inconclusive" and "both arms are one run" in row["note"]
    # One model has no noise to size an effect by: without reference seeds there are no
    # power figures (not a zero "smallest effect"), with them the calibration pair's.
    assert np.isnan(row["mde"]) and "no power figures" in row["note"]
    refs = [run("ref", 1.0, s) for s in range(3)]
    noise = seed_noise_of(refs, var=0.01 ** 2)
    row = claims.judge(claim(), arms, store, resamples=200, noise=noise)
    pair = claims.judge(claim(), *arms_of(a=refs[:1], b=refs[1:2]), resamples=200,
                        noise=noise)
    assert row["mde"] > 0.02 and row["mde"] == pytest.approx(pair["mde"])
    assert row["mde_full"] == pytest.approx(pair["mde_full"])
    assert "two seeds of its family" in row["note"] and "Monte Carlo" not in row["note"]


def test_per_tag_statistics_of_one_arm():
    hard_guitar = [run("pair", 2.0, s, per_tag_skill={"guitar": 0.2, "rock": 3.0})
                   for s in range(3)]
    arms = {"noise.shallow": [r.run_id for r in hard_guitar]}
    store = Store(hard_guitar)
    seeds = Arm("noise", "shallow")
    noise = seed_noise_of(hard_guitar)
    guitar = claims.judge(Claim("g", "VII", "guitar low", seeds, kind="tag_median",
                                tag="guitar", direction=-1), arms, store, noise=noise)
    assert guitar["effect"] < 0 and guitar["verdict"] == "holds"
    assert "seeds" in guitar["noise"] and guitar["sd_seed"] > 0
    rock = claims.judge(Claim("r", "VII", "rock high", seeds, kind="tag_median", tag="rock"),
                        arms, store, noise=noise)
    assert rock["effect"] > 0 and rock["verdict"] == "holds"
    top = claims.judge(Claim("c", "VII", "guitar not best", seeds, kind="tag_top", tag="guitar",
                             direction=-1), arms, store, noise=noise)
    assert top["verdict"] == "holds"
    # The most frequent tag is the hardest here: count and AUC anti-correlate.
    rare = claims.judge(Claim("x", "VII", "rare low", seeds, kind="tag_count"), arms, store,
                        noise=noise)
    assert rare["effect"] < 0
    missing = claims.judge(Claim("m", "VII", "choir high", seeds, kind="tag_median",
                                 tag="choir"), arms, store)
    assert missing["verdict"] == "not measured" and "no choir tag" in missing["note"]


def test_figure3_contrast_can_come_out_negative():
    def curve_run(seed, values):
        r = run("curve", 1.0, seed)
        r.history = pd.DataFrame({"val_roc_auc": values})
        return r

    rising = [curve_run(s, np.linspace(0.6, 0.8, 30) + 0.001 * s) for s in range(3)]
    falling = [curve_run(s, np.r_[np.linspace(0.6, 0.8, 19), np.linspace(0.79, 0.7, 11)]
                         + 0.001 * s) for s in range(3)]
    peak = Claim("p", "VI", "peak", Arm("noise", "shallow"), kind="peak")
    for runs, verdict in ((rising, "fails"), (falling, "holds")):
        row = claims.judge(peak, {"noise.shallow": [r.run_id for r in runs]}, Store(runs))
        assert row["verdict"] == verdict and "epoch 19 of 30" in row["note"]
        assert row["p"] < 0.05  # a p-value, so that Holm's adjustment counts the claim


def test_best_of_compares_with_every_other_value_of_the_step():
    runs = {g: [run(f"g{g}", skill, 0)] for g, skill in (("2", 0.5), ("4", 0.6), ("8", 2.0))}
    arms = {f"table2.group.{g}": [r.run_id for r in rs] for g, rs in runs.items()}
    store = Store([r for rs in runs.values() for r in rs])
    best = Claim("b", "VIII-A", "G = 8 is best", Arm("table2", "group", "8"), kind="best_of")
    row = claims.judge(best, arms, store, resamples=200)
    assert row["verdict"] == "holds" and "best of 2 other value(s)" in row["note"]
    worst = claims.judge(Claim("w", "VIII-A", "G = 2 is best", Arm("table2", "group", "2"),
                               kind="best_of"), arms, store, resamples=200)
    assert worst["verdict"] == "fails"


def test_guitar_gain_of_one_arm_over_another():
    better = [run("harm", 1.0, s, per_tag_skill={"guitar": 3.0}) for s in range(2)]
    base = [run("raw", 1.0, s + 10) for s in range(2)]
    arms, store = arms_of(a=better, b=base)
    with pytest.raises(ValueError, match="names its tag"):
        claim(kind="tag_diff")
    guitar = Claim("g", "IX", "better on guitar", Arm("future", "shallow", "a"),
                   Arm("future", "shallow", "b"), kind="tag_diff", tag="guitar")
    row = claims.judge(guitar, arms, store, resamples=200)
    assert row["effect"] > 0.1 and row["verdict"] == "holds"
    # the other tags do not move it: the same skill everywhere but guitar gives ~0
    same = claims.judge(guitar, *arms_of(a=base, b=base), resamples=100)
    assert same["effect"] == 0.0


def test_holm_adjusts_the_reports_claims_only():
    table = pd.DataFrame({
        "group": ["report", "report", "report", "future"],
        "p": [0.001, 0.03, 0.04, 0.04],
        "verdict": ["holds", "holds", "fails", "holds"],
        "verdict_interval": ["holds", "holds", "fails", "holds"],
        "note": ["", "", "", ""]})
    adjusted = claims.adjust(table)
    assert list(adjusted["verdict"]) == ["holds", "inconclusive", "inconclusive", "holds"]
    assert adjusted["p_holm"].tolist()[:3] == pytest.approx([0.003, 0.06, 0.06])
    assert "decided before Holm's adjustment" in adjusted["note"][1]
    assert claims.verdict_counts(adjusted) == {"holds": 1, "fails": 0, "inconclusive": 2,
                                               "not trained enough": 0, "diverged": 0,
                                               "not measured": 0}
    assert "3 claims judged, 3 are decided" in claims.chance_line(adjusted)


def test_the_projection_to_mtat_flags_effects_too_small_to_decide():
    a = [run("a", 1.0, 0, n=200)]
    b = [run("b", 1.0, 5, n=200)]
    arms, store = arms_of(a=a, b=b)
    tiny = Claim("t", "VI", "256/256 beats 512/256", Arm("future", "shallow", "a"),
                 Arm("future", "shallow", "b"), ("table1.raw.256-256", "table1.raw.512-256"))
    row = claims.judge(tiny, arms, store, resamples=200,
                       noise=seed_noise_of([run("ref", 1.0, s) for s in range(3)], 0.01 ** 2))
    # 4,332 clips shrink the clip term; full's 5 trials (future_trials) the seed term.
    assert row["mde_full"] < row["mde"]
    assert row["too_small_full"] == (abs(row["report_difference"]) < row["mde_full"])
    assert row["report_difference"] == pytest.approx(0.0036)


@pytest.fixture(scope="module")
def declared():
    """Every arm the sections' studies name for the full profile (the report's design)."""
    return set(plan.arms(load_profile("full")))


def unknown_arms(claims_, arms):
    """``(claim key, arm key)`` for every arm a claim names that no study declares."""
    return [(c.key, arm.key) for c in claims_ for arm in (c.a, c.b)
            if arm is not None and arm not in arms]


def test_every_claim_names_an_arm_a_study_declares(declared):
    assert unknown_arms(CLAIMS, declared) == []
    # Exact, not a prefix: a misspelt arm of a known study is caught.
    typo = Claim("typo", "VIII-A", "group norm beats layer norm", Arm("table2", "groop"),
                 Arm("table2", "layer"))
    assert unknown_arms([typo], declared) == [("typo", "table2.groop")]
    assert Arm("table2", "group") in declared and Arm("table2", "group", "32") not in declared


def test_arm_keys_are_the_artifacts_names():
    arm = Arm("search", "lr", "0.0075")
    assert arm.key == str(arm) == "search.lr.0.0075" and Arm.parse(arm.key) == arm
    assert Arm("table2", "kept").key == "table2.kept"
    with pytest.raises(ValueError, match="not one of"):
        Arm("tabel2", "kept")
