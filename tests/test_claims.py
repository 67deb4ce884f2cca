"""Claims and verdicts: the paired bootstrap over test clips, and every verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.paper.claims import BEST_PAIR, CLAIMS, Claim
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
    assert row["n_clips"] == 200 and np.isfinite(row["trial_std"])
    assert claims.judge(claim("b", "a"), arms, store, resamples=200)["verdict"] == "fails"


def test_no_difference_is_inconclusive_never_a_yes():
    a = [run("same", 1.0, s) for s in range(2)]
    b = [run("other", 1.0, s + 7) for s in range(2)]  # same skill, other noise
    arms, store = arms_of(a=a, b=b)
    row = claims.judge(claim(), arms, store, resamples=200)
    assert row["low"] < 0 < row["high"] and row["verdict"] == "inconclusive"


def test_an_arm_below_the_validation_floor_cannot_judge():
    good = [run("good", 2.0, 0)]
    chance = [run("chance", 0.0, 0, val=0.55)]
    arms, store = arms_of(a=good, b=chance)
    row = claims.judge(claim(), arms, store, resamples=50)
    assert row["verdict"] == "not trained enough"
    assert row["note"] == "validation 0.80 / 0.55, the floor 0.65"


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


def test_guitar_below_the_median_tag_and_the_tag_count_correlation():
    hard_guitar = [run("pair", 2.0, s, per_tag_skill={"guitar": 0.2}) for s in range(2)]
    arms = {"table1.raw.256-256": [r.run_id for r in hard_guitar]}
    store = Store(hard_guitar)
    guitar = claims.judge(claims.Claim("g", "VII", "guitar low", BEST_PAIR, kind="guitar"), arms,
                          store, resamples=100)
    assert guitar["effect"] < 0 and guitar["verdict"] == "holds"
    peak = claims.judge(claims.Claim("p", "VI", "peak", BEST_PAIR, kind="peak"), arms, store)
    assert peak["effect"] == pytest.approx(0.1) and peak["verdict"] == "holds"
    # The most frequent tag is the hardest here: count and AUC anti-correlate.
    rare = claims.judge(claims.Claim("r", "VII", "rare low", BEST_PAIR, kind="tag_count"),
                        arms, store, resamples=100)
    assert rare["effect"] < 0


def test_bootstrap_interval_and_verdict_rules():
    samples = claims.bootstrap(lambda rows: float(rows.mean()), 100, resamples=300)
    low, high = claims.interval(samples)
    assert 40 < low < 49.5 < high < 59
    assert claims.verdict(0.01, 0.03) == "holds" and claims.verdict(-0.03, -0.01) == "fails"
    assert claims.verdict(-0.01, 0.02) == "inconclusive"
    assert claims.verdict(-0.03, -0.01, direction=-1) == "holds"
    assert claims.verdict(float("nan"), float("nan")) == "not measured"


def test_guitar_gain_of_one_arm_over_another():
    better = [run("harm", 1.0, s, per_tag_skill={"guitar": 3.0}) for s in range(2)]
    base = [run("raw", 1.0, s + 10) for s in range(2)]
    arms, store = arms_of(a=better, b=base)
    row = claims.judge(claim(kind="tag_diff"), arms, store, resamples=200)
    assert row["effect"] > 0.1 and row["verdict"] == "holds"
    # the other tags do not move it: the same skill everywhere but guitar gives ~0
    same = claims.judge(claim(kind="tag_diff"), *arms_of(a=base, b=base), resamples=100)
    assert same["effect"] == 0.0


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
