"""Metrics against hand-computed small examples, including tags without positives."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtlib.training.metrics import MetricsError, binary_auc, evaluate, per_clip_auc

# 4 clips x 3 tags. Tag "a": positives score 0.9 and 0.3, negatives 0.8 and 0.1.
Y_TRUE = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 1]])
Y_SCORE = np.array([[0.9, 0.5, 0.2], [0.8, 0.4, 0.6], [0.3, 0.2, 0.6], [0.1, 0.1, 0.7]])
TAGS = ["a", "none", "b"]


def test_macro_excludes_tag_without_positives():
    out = evaluate(Y_TRUE, Y_SCORE, TAGS)
    # tag a: positive/negative pairs (0.9>0.8, 0.9>0.1, 0.3<0.8, 0.3>0.1) -> 3/4.
    # average precision: ranking pos(0.9) neg(0.8) pos(0.3) -> (1/1 + 2/3) / 2 = 5/6.
    # tag b: positives 0.2, 0.6, 0.7; negative 0.6 -> pairs (0, 0.5 tie, 1) -> 1.5/3 = 0.5.
    # average precision for b: ranking 0.7(pos), 0.6 & 0.6 tie (one pos, one neg), 0.2(pos);
    # sklearn treats the tie as one threshold: precision 1/1 at recall 1/3, 2/3 at recall 2/3,
    # 3/4 at recall 1 -> AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/4 = 0.8055...
    ap_b = (1 + 2 / 3 + 3 / 4) / 3
    assert out["per_tag"].loc["a", "roc_auc"] == pytest.approx(0.75)
    assert out["per_tag"].loc["a", "pr_auc"] == pytest.approx(5 / 6)
    assert out["per_tag"].loc["b", "roc_auc"] == pytest.approx(0.5)
    assert out["per_tag"].loc["b", "pr_auc"] == pytest.approx(ap_b)
    assert out["excluded_tags"] == ["none"]
    assert np.isnan(out["per_tag"].loc["none", "roc_auc"])
    assert out["roc_auc"] == pytest.approx((0.75 + 0.5) / 2)
    assert out["pr_auc"] == pytest.approx((5 / 6 + ap_b) / 2)
    assert out["n_tags_used"] == 2 and out["n_clips"] == 4
    assert list(out["per_tag"]["n_pos"]) == [2, 0, 3]


def test_tag_with_only_positives_is_excluded_too():
    y = Y_TRUE.copy()
    y[:, 1] = 1
    out = evaluate(y, Y_SCORE, TAGS, n_train_pos=[5, 0, 7])
    assert out["excluded_tags"] == ["none"]
    assert list(out["per_tag"]["n_train_pos"]) == [5, 0, 7]
    assert np.isfinite(out["roc_auc"])


def test_per_clip_auc_by_hand():
    # clip 0: tags a,b positive (0.9, 0.2), none negative (0.5) -> (1 + 0) / 2 = 0.5
    # clip 1: b positive (0.6) vs a (0.8), none (0.4) -> (0 + 1) / 2 = 0.5
    # clip 2: a positive (0.3) vs none (0.2), b (0.6) -> (1 + 0) / 2 = 0.5
    # clip 3: b positive (0.7) vs a (0.1), none (0.1) -> 1
    auc, n = per_clip_auc(Y_TRUE, Y_SCORE)
    assert n == 4 and auc == pytest.approx((0.5 + 0.5 + 0.5 + 1.0) / 4)
    # a clip with no positive tag (or all positive) is skipped
    y = Y_TRUE.copy()
    y[3] = 0
    y[2] = 1
    auc, n = per_clip_auc(y, Y_SCORE)
    assert n == 2 and auc == pytest.approx(0.5)
    auc, n = per_clip_auc(np.zeros((2, 3)), Y_SCORE[:2])
    assert np.isnan(auc) and n == 0


def test_vectorised_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.random((40, 30)) < 0.3
    labels[:, 0] = True  # make sure both classes exist per row
    labels[:, 1] = False
    scores = np.round(rng.random((40, 30)), 1)  # coarse values -> many ties
    expected = [roc_auc_score(labels[i], scores[i]) for i in range(40)]
    np.testing.assert_allclose(binary_auc(labels, scores), expected, rtol=1e-12)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(MetricsError, match="no tag has both positive and negative"):
        evaluate(np.zeros((3, 2)), np.zeros((3, 2)), ["x", "y"])
    with pytest.raises(MetricsError, match="non-finite"):
        evaluate(Y_TRUE, np.where(Y_SCORE > 0.8, np.nan, Y_SCORE), TAGS)
    with pytest.raises(MetricsError, match=r"\[n_clips, n_tags\]"):
        evaluate(Y_TRUE, Y_SCORE[:, :2], TAGS)
    with pytest.raises(MetricsError, match="3 tag names for 2"):
        evaluate(Y_TRUE[:, :2], Y_SCORE[:, :2], TAGS)
    with pytest.raises(MetricsError, match="0/1"):
        evaluate(Y_TRUE * 2, Y_SCORE, TAGS)
